import { resolve } from 'node:path';
import { ModelRuntime } from '../../core/model/index.js';
import { printJson, type Command, type CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { MODEL_OPTIONS, formatVector, modelPack, runtimeOptions } from './model-common.js';

async function withRuntime<T>(ctx: CommandContext, fn: (runtime: ModelRuntime) => Promise<T>): Promise<{ value: T; runtime: ModelRuntime }> {
  const pack = modelPack(ctx);
  ctx.stderr.write(`loading ${pack.manifest.name}…\n`);
  const runtime = await ModelRuntime.start({ pack: pack.dir, ...runtimeOptions(ctx) });
  try {
    const model = runtime.status().model;
    if (model) {
      const skipped = model.providers.filter((p) => p.outcome !== 'used').map((p) => `${p.provider}: ${p.reason}`);
      ctx.stderr.write(`execution provider: ${model.provider}${skipped.length ? ` (not used: ${skipped.join('; ')})` : ''}\n`);
    }
    return { value: await fn(runtime), runtime };
  } finally {
    await runtime.close();
  }
}

function providerOf(runtime: ModelRuntime): string | null {
  return runtime.status().model?.provider ?? null;
}

export const embedText: Command = {
  name: 'embed-text',
  summary: "A text's L2-normalised embedding from the model pack's text tower",
  usage: 'kestrel embed-text --model <pack> "<text>" [--provider auto|cpu|webgpu|cuda|…] [--threads N] [--json] [--data DIR]',
  options: MODEL_OPTIONS,
  async run(ctx) {
    if (ctx.positionals.length === 0) throw new UsageError('give the text to embed');
    const text = ctx.positionals.join(' ');
    const { value, runtime } = await withRuntime(ctx, async (r) => (await r.embedTexts([text]))[0] ?? new Float32Array());
    if (ctx.json) printJson(ctx, { model: runtime.status().model?.pack.name, provider: providerOf(runtime), text, dimensions: value.length, embedding: Array.from(value) });
    else ctx.stdout.write(formatVector(value) + '\n');
    return 0;
  },
};

export const embedImage: Command = {
  name: 'embed-image',
  summary: "An image file's L2-normalised embedding from the model pack's image tower",
  usage: 'kestrel embed-image --model <pack> <file> [--provider auto|cpu|webgpu|cuda|…] [--threads N] [--json] [--data DIR]',
  options: MODEL_OPTIONS,
  async run(ctx) {
    if (ctx.positionals.length !== 1) throw new UsageError('give exactly one image file');
    const file = resolve(ctx.positionals[0] ?? '');
    const { value, runtime } = await withRuntime(ctx, async (r) => (await r.embedImages([file]))[0] ?? new Float32Array());
    if (ctx.json) printJson(ctx, { model: runtime.status().model?.pack.name, provider: providerOf(runtime), file, dimensions: value.length, embedding: Array.from(value) });
    else ctx.stdout.write(formatVector(value) + '\n');
    return 0;
  },
};
