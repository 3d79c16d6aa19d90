import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ModelRuntime, readModelPack, resourcesDir } from '../../core/model/index.js';
import type { ActiveModel } from '../../core/index.js';
import type { CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { runtimeOptions } from './model-common.js';

/**
 * `--model` for index and search: a model pack folder, or the id of a pack installed in the data
 * folder (or shipped). The pack's id (its folder name) keys the archive's vector store, so indexing
 * and searching with the same pack meet the same vectors.
 */
export function locatePack(ctx: CommandContext, model: string | undefined): string {
  if (!model) throw new UsageError('--model <pack> is required (a model pack folder or an installed pack id)');
  const candidates = [resolve(model), join(ctx.dataDir, 'models', model), join(resourcesDir(), 'models', model)];
  const dir = candidates.find((d) => existsSync(join(d, 'manifest.json')));
  if (!dir) throw new UsageError(`--model ${model}: no model pack there (a folder with manifest.json, or an installed pack id)`);
  return dir;
}

/** Starts the pack in its own inference worker and says which execution provider runs it. */
export async function startModel(ctx: CommandContext, dir: string): Promise<ActiveModel> {
  const { manifest } = readModelPack(dir);
  ctx.stderr.write(`loading ${manifest.name}…\n`);
  const runtime = await ModelRuntime.start({ pack: dir, ...runtimeOptions(ctx) });
  const status = runtime.status().model;
  if (status) ctx.stderr.write(`execution provider: ${status.provider}\n`);
  return { id: basename(dir), runtime, embedder: runtime, spec: manifest.image, dim: manifest.embeddingSize };
}
