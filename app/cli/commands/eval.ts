import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { KestrelError } from '../../contract/index.js';
import { parseCaptions, type CaptionFormat } from '../../core/captions/index.js';
import { ModelRuntime } from '../../core/model/index.js';
import { AdapterRegistry, deserializeAdapter, evaluateCaptions, type RetrievalMetrics } from '../../core/tune/index.js';
import { printJson, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import { MODEL_OPTIONS, modelPack, runtimeOptions } from './model-common.js';

const IMAGE_EXT = /\.(tif|tiff|jpg|jpeg|png)$/i;

async function listImages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  // Symbolic links to images count too (archives are often folders of links).
  return entries
    .filter((e) => (e.isFile() || (e.isSymbolicLink() && existsSync(join(e.parentPath, e.name)))) && IMAGE_EXT.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

const pct = (x: number): string => (100 * x).toFixed(2);

function table(m: RetrievalMetrics): string {
  return [
    '| direction | R@1 | R@5 | R@10 |',
    '| --- | ---: | ---: | ---: |',
    `| image→text | ${pct(m.imageToText.r1)} | ${pct(m.imageToText.r5)} | ${pct(m.imageToText.r10)} |`,
    `| text→image | ${pct(m.textToImage.r1)} | ${pct(m.textToImage.r5)} | ${pct(m.textToImage.r10)} |`,
    `mR ${pct(m.mR)} (${m.images} images, ${m.captions} captions)`,
  ].join('\n');
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Retrieval metrics (R@1/5/10 both ways, mR; RSITMD/RSICD protocol) of a model, or a model with an adapter, on a caption file',
  usage: 'kestrel eval --captions <file> --model <pack> [--images <folder>] [--adapter <id or adapter.json>] [--split test] [--format harma|karpathy|coco|jsonl] [--json]',
  options: { ...MODEL_OPTIONS, captions: { type: 'string' }, images: { type: 'string' }, adapter: { type: 'string' }, split: { type: 'string' }, format: { type: 'string' } },
  async run(ctx) {
    const captionsFile = ctx.values.captions;
    if (typeof captionsFile !== 'string' || !captionsFile) throw new UsageError('--captions <file> is required');
    const format = ctx.values.format as CaptionFormat | undefined;
    if (format !== undefined && !['harma', 'karpathy', 'coco', 'jsonl'].includes(format)) throw new UsageError('--format must be harma, karpathy, coco or jsonl');
    const path = resolve(captionsFile);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new KestrelError({ code: 'io_error', message: `Cannot read the caption file ${path}: ${(e as Error).message}`, file: path });
    }
    const set = parseCaptions(text, path, format);
    const imagesDir = resolve((ctx.values.images as string | undefined) ?? dirname(path));
    const files = await listImages(imagesDir);
    // --adapter: a registered version's id (its results are then stored with it), or an adapter file.
    let adapter;
    let registered: { registry: AdapterRegistry; id: string } | undefined;
    if (typeof ctx.values.adapter === 'string') {
      const registry = await AdapterRegistry.open(ctx.dataDir);
      if (registry.record(ctx.values.adapter)) {
        registered = { registry, id: ctx.values.adapter };
        adapter = await registry.weights(registered.id);
      } else {
        const file = resolve(ctx.values.adapter);
        adapter = deserializeAdapter(JSON.parse(await readFile(file, 'utf8')), file);
      }
    }
    const pack = modelPack(ctx);
    ctx.stderr.write(`loading ${pack.manifest.name}…\n`);
    const runtime = await ModelRuntime.start({ pack: pack.dir, ...runtimeOptions(ctx) });
    let result;
    try {
      result = await evaluateCaptions(set, files, runtime, {
        ...(typeof ctx.values.split === 'string' ? { split: ctx.values.split } : {}),
        ...(adapter ? { adapter } : {}),
        onProgress: (done, total) => ctx.stderr.write(`\rembedded ${done}/${total}`),
      });
      ctx.stderr.write('\n');
    } finally {
      await runtime.close();
    }
    if (registered) await registered.registry.addEvaluation(registered.id, { captions: path, at: new Date().toISOString(), metrics: result.metrics });
    const out = { captions: path, images: imagesDir, model: pack.manifest.name, adapter: registered ? registered.id : typeof ctx.values.adapter === 'string' ? resolve(ctx.values.adapter) : null, ...result };
    if (ctx.json) printJson(ctx, out);
    else {
      const m = result.match;
      ctx.stdout.write(`${m.imagesMatched} of ${m.images} images matched (${m.captionsMatched} of ${m.captions} captions); ${m.unmatched.length} unmatched, ${m.ambiguous.length} ambiguous\n`);
      if (result.baseMetrics) ctx.stdout.write(`without the adapter:\n${table(result.baseMetrics)}\nwith the adapter:\n`);
      ctx.stdout.write(table(result.metrics) + '\n');
    }
    return 0;
  },
};
