import type { ParseArgsConfig } from 'node:util';
import { readModelPack, type ModelPack, type ProviderPreference } from '../../core/model/index.js';
import type { CommandContext } from '../command.js';
import { UsageError } from '../errors.js';

/** Options shared by the commands that use a model pack. */
export const MODEL_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  model: { type: 'string' },
  provider: { type: 'string' },
  threads: { type: 'string' },
};

const PROVIDERS = ['auto', 'cpu', 'webgpu', 'cuda', 'tensorrt', 'dml', 'coreml'];

export function modelPack(ctx: CommandContext): ModelPack {
  const dir = ctx.values.model;
  if (typeof dir !== 'string' || !dir) throw new UsageError('--model <pack folder> is required');
  return readModelPack(dir);
}

export function runtimeOptions(ctx: CommandContext): { provider: ProviderPreference; threads?: number } {
  const provider = (ctx.values.provider as string | undefined) ?? 'auto';
  if (!PROVIDERS.includes(provider)) throw new UsageError(`--provider must be one of ${PROVIDERS.join(', ')}`);
  const threadsFlag = ctx.values.threads as string | undefined;
  const threads = threadsFlag === undefined ? undefined : Number(threadsFlag);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new UsageError('--threads must be a positive integer');
  return { provider: provider as ProviderPreference, ...(threads ? { threads } : {}) };
}

export function formatVector(v: Float32Array): string {
  return Array.from(v, (x) => x.toFixed(6)).join(' ');
}
