import { IMPORT_ACTIVATIONS, IMPORT_LAYOUTS, IMPORT_PRECISIONS } from '../../contract/index.js';
import { importModel, readLicenceFile, type ImportProgress } from '../../core/model/index.js';
import { printJson, type Command } from '../command.js';
import { UsageError } from '../errors.js';

const PHASES: Record<ImportProgress['phase'], string> = {
  hash: 'hashing the checkpoint (sha256, alongside the conversion)',
  check: 'checking the weights against the architecture',
  image: 'writing image.onnx',
  text: 'writing text.onnx',
  verify: 'loading the pack through the runtime',
  done: 'done',
};

function oneOf<T extends string>(value: unknown, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export const importModelCommand: Command = {
  name: 'import-model',
  summary: 'Turn a CLIP checkpoint (open_clip, Hugging Face CLIPModel, HarMA; .pt/.pth/.bin/.safetensors) into a model pack',
  usage:
    `kestrel import-model <checkpoint> --out <pack> [--arch ViT-B-32|ViT-B-32-quickgelu|ViT-B-16|ViT-L-14|…] [--config <json>] [--layout ${IMPORT_LAYOUTS.join('|')}] [--activation ${IMPORT_ACTIVATIONS.join('|')}] [--precision ${IMPORT_PRECISIONS.join('|')}] [--name <name>] [--licence <text> | --licence-file <file>] [--ignore-unknown] [--skip-foreign-objects] [--force] [--no-verify] [--json]`,
  options: {
    out: { type: 'string' },
    arch: { type: 'string' },
    config: { type: 'string' },
    layout: { type: 'string' },
    activation: { type: 'string' },
    precision: { type: 'string' },
    name: { type: 'string' },
    licence: { type: 'string' },
    'licence-file': { type: 'string' },
    'ignore-unknown': { type: 'boolean', default: false },
    'skip-foreign-objects': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    'no-verify': { type: 'boolean', default: false },
  },
  async run(ctx) {
    if (ctx.positionals.length !== 1) throw new UsageError('give exactly one checkpoint file');
    const out = ctx.values.out;
    if (typeof out !== 'string' || !out) throw new UsageError('--out <pack folder> is required');
    const layout = oneOf(ctx.values.layout, IMPORT_LAYOUTS, '--layout');
    const precision = oneOf(ctx.values.precision, IMPORT_PRECISIONS, '--precision') ?? 'fp32';
    const activation = oneOf(ctx.values.activation, IMPORT_ACTIVATIONS, '--activation');
    const licenceFile = ctx.values['licence-file'];
    if (licenceFile !== undefined && ctx.values.licence !== undefined) throw new UsageError('give --licence or --licence-file, not both');
    const licence = typeof licenceFile === 'string' ? readLicenceFile(licenceFile) : (ctx.values.licence as string | undefined);
    let lastLine = '';
    let lastPct = -1;
    const result = await importModel({
      checkpoint: ctx.positionals[0] ?? '',
      out,
      ...(typeof ctx.values.arch === 'string' ? { arch: ctx.values.arch } : {}),
      ...(typeof ctx.values.config === 'string' ? { config: ctx.values.config } : {}),
      ...(layout ? { layout } : {}),
      ...(activation ? { activation } : {}),
      precision,
      ...(typeof ctx.values.name === 'string' ? { name: ctx.values.name } : {}),
      ...(licence ? { licence } : {}),
      ignoreUnknown: ctx.values['ignore-unknown'] === true,
      skipForeignObjects: ctx.values['skip-foreign-objects'] === true,
      force: ctx.values.force === true,
      verify: ctx.values['no-verify'] !== true,
      onNote: (m) => ctx.stderr.write(`note: ${m}\n`),
      onProgress: (p) => {
        const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 100;
        const line = PHASES[p.phase];
        // One line per phase and per 10 %, so logs stay readable.
        if (line !== lastLine || pct >= lastPct + 10 || (pct === 100 && lastPct !== 100)) {
          ctx.stderr.write(p.phase === 'done' ? 'done\n' : `${line}: ${p.total > 1 ? `${pct}% (${mb(p.done)} of ${mb(p.total)})` : p.done ? 'ok' : '…'}\n`);
          lastLine = line;
          lastPct = pct;
        }
      },
    });
    const summary = {
      pack: result.dir,
      name: result.manifest.name,
      layout: result.layout,
      format: result.format,
      architecture: result.manifest.architecture.name,
      activation: result.manifest.architecture.activation,
      precision: result.precision,
      embeddingSize: result.manifest.embeddingSize,
      licence: result.manifest.licence,
      source: { file: result.manifest.provenance.source, sha256: result.manifest.provenance.sha256, bytes: result.sourceBytes },
      files: result.files,
      notes: result.notes,
      timings: result.timings,
    };
    if (ctx.json) printJson(ctx, summary);
    else {
      ctx.stdout.write(
        `${result.dir}\n  ${summary.name}: ${summary.architecture}, ${summary.layout} layout, ${summary.activation}, ${summary.precision}, embedding ${summary.embeddingSize}\n` +
          `  image.onnx ${mb(result.files['image.onnx']?.bytes ?? 0)}, text.onnx ${mb(result.files['text.onnx']?.bytes ?? 0)}; ${(result.timings.totalMs / 1000).toFixed(1)} s\n`,
      );
    }
    return 0;
  },
};
