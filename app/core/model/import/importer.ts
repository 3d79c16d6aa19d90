/**
 * import-model: a checkpoint file → a model pack folder that the runtime loads (readModelPack +
 * ModelSession). Streams: the checkpoint's tensors are read one at a time while each tower's ONNX file
 * is written, so memory stays around the largest single tensor, never a second copy of the model.
 * The pack is written into a temporary folder beside the destination and renamed into place only when
 * complete (and, by default, loaded once through the runtime); a failed import leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { KestrelError } from '../../../contract/index.js';
import { ModelPackManifest } from '../manifest.js';
import { clipVocabularyPath } from '../resources.js';
import { builtinMatching, describeSpec, resolveArchitecture, type Activation, type ClipSpec } from './architectures.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { IMAGE_INPUT, IMAGE_OUTPUT, TEXT_INPUT, TEXT_OUTPUT, buildImageTower, buildTextTower, type Precision } from './graph.js';
import { detectLayout, inferSpec, planLayout, readParam, type Layout, type LayoutPlan, type Param } from './layouts.js';
import { writeOnnxModel } from './onnx-writer.js';

export const IMPORTER_VERSION = '1';

export interface ImportProgress {
  phase: 'hash' | 'check' | 'image' | 'text' | 'verify' | 'done';
  /** Bytes done and total for the phase (source bytes read). */
  done: number;
  total: number;
  message?: string;
}

export interface ImportOptions {
  checkpoint: string;
  out: string;
  /** A built-in architecture name (ViT-B-32, ViT-B-32-quickgelu, ViT-B-16, ViT-L-14…); inferred from the weights when absent. */
  arch?: string;
  /** An open_clip model config JSON, or a Hugging Face CLIPModel config.json. */
  config?: string;
  layout?: Layout;
  activation?: Activation;
  precision?: Precision;
  name?: string;
  licence?: string;
  /** Read past objects of unknown classes beside the weights (never code-running ones); reported. */
  skipForeignObjects?: boolean;
  /** Tensors the layout does not know are an error unless this is set. */
  ignoreUnknown?: boolean;
  /** Replace an existing pack at `out`. */
  force?: boolean;
  /** Load the finished pack through the runtime before moving it into place (default true). */
  verify?: boolean;
  /** Raw (unnormalised) tower outputs; for tests against reference implementations' raw outputs. */
  rawOutputs?: boolean;
  onProgress?: (p: ImportProgress) => void;
  /** Notes the user should see (defaults chosen, tensors ignored). */
  onNote?: (message: string) => void;
  /** Stops the import at the next tensor or phase; it then fails with `cancelled` and leaves nothing behind. */
  signal?: AbortSignal;
}

/** Whether an error is the one an aborted `signal` makes importModel throw. */
export function isImportCancelled(err: unknown): boolean {
  return err instanceof KestrelError && err.message === CANCELLED;
}
const CANCELLED = 'The import was cancelled.';

/** A file of the pack: its size and sha256 (as the manifest lists it). */
interface WrittenFile {
  bytes: number;
  sha256: string;
}

export interface ImportResult {
  dir: string;
  manifest: ModelPackManifest;
  layout: Layout;
  format: Checkpoint['format'];
  precision: Precision;
  sourceBytes: number;
  files: Record<string, WrittenFile>;
  notes: string[];
  timings: { hashMs: number; checkMs: number; imageMs: number; textMs: number; verifyMs: number; totalMs: number };
}

/** Models Kestrel recognises by their published file names: the right defaults and licence. */
export interface KnownModel {
  id: string;
  title: string;
  file: RegExp;
  layout: Layout;
  arch: string;
  activation: Activation;
  licence?: string;
}

export const KNOWN_MODELS: KnownModel[] = [
  ...(['ViT-B-32', 'ViT-L-14'] as const).map((arch) => ({
    id: `RemoteCLIP-${arch}`,
    title: `RemoteCLIP ${arch}`,
    file: new RegExp(`^RemoteCLIP-${arch}\\.pt$`, 'i'),
    layout: 'open_clip' as const,
    arch,
    activation: 'quick_gelu' as const,
    licence: 'Apache-2.0 (RemoteCLIP, https://github.com/ChenDelong1999/RemoteCLIP). Check the model card for the terms of the training data.',
  })),
  ...(['ViT-B-32', 'ViT-L-14', 'ViT-H-14'] as const).map((arch) => ({
    id: `GeoRSCLIP-${arch}`,
    title: `GeoRSCLIP ${arch} (RS5M)`,
    file: new RegExp(`^RS5M_${arch}(-[\\w]+)?\\.pt$`, 'i'),
    layout: 'open_clip' as const,
    arch,
    activation: arch === 'ViT-H-14' ? ('gelu' as const) : ('quick_gelu' as const),
  })),
  {
    id: 'OpenAI-CLIP-ViT-B-32',
    title: 'OpenAI CLIP ViT-B/32 (open_clip release)',
    file: /^(open_clip_pytorch_model|openai[-_]?vit[-_]?b[-_]?32)\.(bin|pt|safetensors)$/i,
    layout: 'open_clip',
    arch: 'ViT-B-32',
    activation: 'quick_gelu',
    licence: 'MIT (OpenAI CLIP, https://github.com/openai/CLIP)',
  },
];

export function recogniseModel(file: string): KnownModel | undefined {
  const name = basename(file);
  return KNOWN_MODELS.find((m) => m.file.test(name));
}

const MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

// Runs in a worker thread (plain CommonJS, no imports of Kestrel's sources, so it works from sources,
// from the bundle and in Electron alike): the source file's sha256 is computed while the towers are
// written, on the other core, instead of as a pass of its own.
const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
try {
  const fd = openSync(workerData, 'r');
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(8 << 20);
  let total = 0;
  for (let n; (n = readSync(fd, buf, 0, buf.length, total)) > 0; ) { hash.update(buf.subarray(0, n)); total += n; }
  closeSync(fd);
  parentPort.postMessage({ sha256: hash.digest('hex'), bytes: total });
} catch (err) {
  parentPort.postMessage({ error: String(err && err.message || err) });
}
`;

function hashFile(file: string): { result: Promise<{ sha256: string; bytes: number; ms: number }>; cancel: () => void } {
  const started = performance.now();
  const worker = new Worker(HASH_WORKER, { eval: true, workerData: file });
  const result = new Promise<{ sha256: string; bytes: number; ms: number }>((resolveHash, reject) => {
    worker.once('message', (m: { sha256?: string; bytes?: number; error?: string }) => {
      void worker.terminate();
      if (m.error || !m.sha256) reject(new KestrelError({ code: 'io_error', message: `Cannot read ${file}: ${m.error ?? 'no hash'}`, file }));
      else resolveHash({ sha256: m.sha256, bytes: m.bytes ?? 0, ms: performance.now() - started });
    });
    worker.once('error', reject);
  });
  // Settled here so a failure elsewhere does not leave an unhandled rejection behind.
  result.catch(() => undefined);
  return { result, cancel: () => void worker.terminate() };
}

function chooseActivation(o: ImportOptions, known: KnownModel | undefined, spec: ClipSpec, note: (m: string) => void): Activation {
  if (o.activation) {
    note(`activation: ${o.activation} (as asked)`);
    return o.activation;
  }
  if (known) {
    note(`activation: ${known.activation} (the published ${known.title} uses it)`);
    return known.activation;
  }
  if (spec.activation) {
    note(`activation: ${spec.activation} (from the architecture config ${spec.name})`);
    return spec.activation;
  }
  note('activation: quick_gelu (not stated anywhere: the state dict does not record it). QuickGELU is right for OpenAI-derived weights (OpenAI CLIP, RemoteCLIP, GeoRSCLIP, HarMA\'s GeoRSCLIP variant); choose Activation gelu (--activation gelu) for OpenCLIP LAION-trained weights (and HarMA\'s "ViT" variant).');
  return 'quick_gelu';
}

function towerBytes(ck: Checkpoint, plan: LayoutPlan, prefix: string): number {
  let n = 0;
  for (const [name, p] of plan.params) if (name.startsWith(prefix)) for (const s of p.sources) n += ck.tensors.get(s.key)?.bytes ?? 0;
  return n;
}

/** One import under way: its options, the source file and checkpoint, and its notes, progress and cancel check. */
interface ImportRun {
  o: ImportOptions;
  file: string;
  ck: Checkpoint;
  precision: Precision;
  note(m: string): void;
  progress(p: ImportProgress): void;
  stopIfCancelled(): void;
}

/** What the check found: the layout, the model the file name names, the architecture and the plan. */
interface Checked {
  layout: Layout;
  known: KnownModel | undefined;
  spec: ClipSpec;
  activation: Activation;
  plan: LayoutPlan;
}

/** The check phase: layout, architecture (given, recognised or inferred), activation and the parameter plan. */
function checkCheckpoint({ o, file, ck, note }: ImportRun): Checked {
  for (const u of ck.unwrapped) note(u);
  if (ck.foreignObjects.length) note(`skipped objects that are not weights (as asked): ${ck.foreignObjects.join(', ')}`);
  const detected = detectLayout(ck.tensors.keys());
  const layout = o.layout ?? detected;
  if (!layout) {
    throw new KestrelError({
      code: 'invalid_input',
      message: `${file}: the tensor names match no layout Kestrel knows (first names: ${[...ck.tensors.keys()].slice(0, 5).join(', ')}).`,
      file,
      hint: 'Kestrel imports open_clip (visual.*, transformer.*), Hugging Face CLIPModel (vision_model.*, text_model.*) and HarMA checkpoints.',
    });
  }
  if (!o.layout) note(`layout: ${layout} (recognised from the tensor names)`);
  else if (detected && detected !== layout) note(`layout: ${layout} as asked, although the names look like ${detected}`);
  const known = recogniseModel(file);
  if (known) note(`recognised ${known.title} from the file name`);
  let spec = resolveArchitecture(o.arch ?? (o.config ? undefined : known?.arch), o.config);
  if (!spec) {
    const inferred = inferSpec(ck, layout === 'hf' ? 'hf' : 'open_clip');
    if (!inferred) throw new KestrelError({ code: 'invalid_input', message: `${file}: cannot work out the architecture from the weights.`, file, hint: 'Choose the Architecture (--arch), or pass --config on the command line.' });
    const match = builtinMatching(inferred);
    spec = { ...inferred, name: match ?? `ViT (inferred: ${describeSpec(inferred)})` };
    note(`architecture: ${match ?? 'not a built-in'}, inferred from the weights: ${describeSpec(inferred)} (heads assumed 64 wide; choose the Architecture (--arch) or pass --config if the model differs)`);
  }
  const activation = chooseActivation(o, known, spec, note);
  const plan = planLayout(ck, layout, spec, { ignoreUnknown: o.ignoreUnknown === true });
  if (plan.ignored.length) note(`not used by the model: ${plan.ignored.length} tensor(s) (${plan.ignored.slice(0, 4).join(', ')}${plan.ignored.length > 4 ? ', …' : ''})`);
  if (plan.adapter) note(`HarMA adapters: width ${plan.adapter.width} (${plan.adapter.heads} heads), MMS width ${plan.adapter.mmsWidth} (${plan.adapter.mmsHeads} heads), in all ${spec.vision.layers + spec.text.layers} blocks`);
  return { layout, known, spec, activation, plan };
}

type Hashing = ReturnType<typeof hashFile>;

/**
 * Writes image.onnx and text.onnx into `tmp`, reading the checkpoint's tensors as each tower needs
 * them. Each finished ONNX file is hashed on a worker thread while the next is written; its cancel
 * goes into `cancelOnFailure`.
 */
async function writeTowers(run: ImportRun, checked: Checked, tmp: string, cancelOnFailure: (() => void)[]): Promise<{ written: { name: string; bytes: number; hash: Hashing }[]; towerTimes: Record<string, number> }> {
  const { o, ck, progress, stopIfCancelled } = run;
  const { spec, activation, plan } = checked;
  const producer = { name: 'kestrel import-model', version: IMPORTER_VERSION };
  const towerTimes: Record<string, number> = {};
  const written: { name: string; bytes: number; hash: Hashing }[] = [];
  for (const tower of ['image', 'text'] as const) {
    const started = performance.now();
    const prefix = tower === 'image' ? 'v.' : 't.';
    const total = towerBytes(ck, plan, prefix);
    let done = 0;
    const read = (_name: string, p: Param): Float32Array => {
      stopIfCancelled();
      const values = readParam(ck, p);
      for (const s of p.sources) done += ck.tensors.get(s.key)?.bytes ?? 0;
      progress({ phase: tower, done, total });
      return values;
    };
    const options = { spec, activation, precision: run.precision, params: plan.params, read, ...(plan.adapter ? { adapter: plan.adapter } : {}), normalize: !o.rawOutputs, producer };
    const model = tower === 'image' ? buildImageTower(options) : buildTextTower(options);
    const name = `${tower}.onnx`;
    const bytes = await writeOnnxModel(join(tmp, name), model);
    const hash = hashFile(join(tmp, name));
    cancelOnFailure.push(hash.cancel);
    written.push({ name, bytes, hash });
    towerTimes[tower] = performance.now() - started;
  }
  return { written, towerTimes };
}

/** The pack's manifest: provenance, architecture, the towers' inputs and outputs, and every file's hash. */
function packManifest(run: ImportRun, checked: Checked, pack: { source: { sha256: string; bytes: number }; files: Record<string, WrittenFile>; vocabulary: string; vocabularySha: string }): ModelPackManifest {
  const { o, file, ck, precision } = run;
  const { layout, known, spec, activation, plan } = checked;
  const { source, files, vocabulary, vocabularySha } = pack;
  const licence = o.licence ?? known?.licence ?? `Not stated: no licence was given when ${basename(file)} was imported. Check the terms of the model's publisher before use (kestrel import-model --licence).`;
  const family = layout === 'hf' ? 'hf_clip' : layout;
  return {
    format: 'kestrel-model-pack',
    formatVersion: 1,
    name: o.name ?? known?.id ?? basename(file).replace(/\.(pt|pth|bin|safetensors|ckpt)$/i, ''),
    licence,
    provenance: {
      source: basename(file),
      sha256: source.sha256,
      bytes: source.bytes,
      format: ck.format,
      layout,
      ...(known ? { recognisedAs: known.id } : {}),
      unwrapped: ck.unwrapped,
      ...(ck.foreignObjects.length ? { skippedObjects: ck.foreignObjects } : {}),
      ignoredTensors: plan.ignored,
      importer: `kestrel import-model ${IMPORTER_VERSION}`,
      importedAt: new Date().toISOString(),
    },
    architecture: {
      family,
      name: spec.name,
      activation,
      precision,
      normalizedOutputs: !o.rawOutputs,
      embedDim: spec.embedDim,
      vision: { layers: spec.vision.layers, width: spec.vision.width, heads: spec.vision.heads, patchSize: spec.vision.patchSize, mlpWidth: spec.vision.mlpWidth },
      text: { layers: spec.text.layers, width: spec.text.width, heads: spec.text.heads, vocabSize: spec.text.vocabSize, mlpWidth: spec.text.mlpWidth },
      ...(plan.adapter ? { adapter: plan.adapter } : {}),
    },
    embeddingSize: spec.embedDim,
    image: { file: 'image.onnx', input: IMAGE_INPUT, output: IMAGE_OUTPUT, size: spec.vision.imageSize, mean: MEAN, std: STD, resize: 'shortest-side-center-crop', interpolation: 'bicubic' },
    text: { file: 'text.onnx', input: TEXT_INPUT, output: TEXT_OUTPUT, contextLength: spec.text.contextLength, tokenizer: { kind: 'clip-bpe', files: { vocabulary } } },
    files: { ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.sha256])), [vocabulary]: vocabularySha },
  };
}

/** Loads the finished pack once through the runtime (unless --no-verify); returns the time it took. */
async function verifyPack({ o, progress, stopIfCancelled }: ImportRun, tmp: string): Promise<number> {
  if (o.verify === false) return 0;
  const started = performance.now();
  progress({ phase: 'verify', done: 0, total: 1 });
  const { ModelSession } = await import('../session.js');
  const session = await ModelSession.open(tmp, { provider: 'cpu' });
  await session.close();
  stopIfCancelled();
  const verifyMs = performance.now() - started;
  progress({ phase: 'verify', done: 1, total: 1 });
  return verifyMs;
}

/** Renames the finished pack into place, replacing what was there (--force). */
function moveIntoPlace(tmp: string, out: string): void {
  if (existsSync(out)) {
    const old = `${tmp}.old`;
    renameSync(out, old);
    renameSync(tmp, out);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, out);
  }
}

/** Imports a checkpoint into a model pack folder. */
export async function importModel(o: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  const notes: string[] = [];
  const note = (m: string): void => {
    notes.push(m);
    o.onNote?.(m);
  };
  const stopIfCancelled = (): void => {
    if (o.signal?.aborted) throw new KestrelError({ code: 'unavailable', message: CANCELLED, file: resolve(o.checkpoint) });
  };
  const progress = (p: ImportProgress): void => {
    stopIfCancelled();
    o.onProgress?.(p);
  };
  const out = resolve(o.out);
  const file = resolve(o.checkpoint);
  if (existsSync(out) && !o.force) {
    throw new KestrelError({ code: 'invalid_input', message: `${out} already exists.`, file: out, hint: 'Choose another --out folder, or pass --force to replace it.' });
  }
  const precision = o.precision ?? 'fp32';

  const ck = openCheckpoint(file, { skipForeignObjects: o.skipForeignObjects === true });
  const run: ImportRun = { o, file, ck, precision, note, progress, stopIfCancelled };
  const tmp = join(dirname(out), `.${basename(out)}.importing-${process.pid}-${Date.now()}`);
  let hashing: Hashing | undefined;
  const cancelOnFailure: (() => void)[] = [];
  try {
    progress({ phase: 'hash', done: 0, total: ck.fileBytes });
    hashing = hashFile(file);

    const checkStart = performance.now();
    progress({ phase: 'check', done: 0, total: 1 });
    const checked = checkCheckpoint(run);
    const checkMs = performance.now() - checkStart;
    progress({ phase: 'check', done: 1, total: 1 });

    mkdirSync(tmp, { recursive: true });
    const { written, towerTimes } = await writeTowers(run, checked, tmp, cancelOnFailure);
    const files: Record<string, WrittenFile> = {};
    for (const { name, bytes, hash } of written) files[name] = { bytes, sha256: (await hash.result).sha256 };
    const source = await hashing.result;
    const hashMs = source.ms;
    progress({ phase: 'hash', done: source.bytes, total: ck.fileBytes });
    // The pack carries its tokenizer (CLIP's BPE vocabulary, MIT, as shipped with Kestrel), so it is
    // self-contained wherever it is copied.
    const vocabulary = 'bpe_simple_vocab_16e6.txt.gz';
    const vocabularyBytes = readFileSync(clipVocabularyPath());
    writeFileSync(join(tmp, vocabulary), vocabularyBytes);
    const vocabularySha = createHash('sha256').update(vocabularyBytes).digest('hex');
    const manifest = packManifest(run, checked, { source, files, vocabulary, vocabularySha });
    ModelPackManifest.parse(manifest);
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

    const verifyMs = await verifyPack(run, tmp);
    stopIfCancelled();
    moveIntoPlace(tmp, out);
    // In place now: a cancel that arrives this late is too late.
    o.onProgress?.({ phase: 'done', done: 1, total: 1 });
    return {
      dir: out,
      manifest,
      layout: checked.layout,
      format: ck.format,
      precision,
      sourceBytes: source.bytes,
      files,
      notes,
      timings: { hashMs, checkMs, imageMs: towerTimes.image ?? 0, textMs: towerTimes.text ?? 0, verifyMs, totalMs: performance.now() - t0 },
    };
  } catch (err) {
    hashing?.cancel();
    for (const cancel of cancelOnFailure) cancel();
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    ck.close();
  }
}

/** Reads a licence text file for --licence-file. */
export function readLicenceFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new KestrelError({ code: 'not_found', message: `Cannot read the licence file ${path}: ${(err as Error).message}`, file: path });
  }
}
