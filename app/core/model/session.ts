/**
 * A loaded model pack: ONNX Runtime sessions for both towers on the first execution provider that
 * works, checked against the manifest, warmed up. Runs inside the inference worker (and in-process
 * for tests and benchmarks); never on Electron's main thread or the server's request thread.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { KestrelError } from '../../contract/index.js';
import { readModelPack, type ModelPack } from './manifest.js';
import { decodeImageFile, normalizeInto, resizeForModel } from './preprocess.js';
import { planProviders, shortReason, type ProviderAttempt, type ProviderName, type ProviderPreference } from './providers.js';
import { ClipTokenizer } from './tokenizer/index.js';

type OrtModule = typeof Ort;
let ortModule: OrtModule | undefined;

/** onnxruntime-node, loaded on first use (a native module: only where inference really runs). */
export function loadOrt(): OrtModule {
  if (!ortModule) ortModule = createRequire(import.meta.url)('onnxruntime-node') as OrtModule;
  return ortModule;
}

export interface ModelSessionOptions {
  /** Execution provider preference (settings.executionProvider); `auto` by default. */
  provider?: ProviderPreference;
  /** Intra-op threads; defaults to the cores available to this process. */
  threads?: number;
  /** Largest batch sent to a tower at once. */
  maxBatch?: number;
  /** Run one image and one text through the towers after loading (default true). */
  warmUp?: boolean;
}

/** What is loaded and how: shown through the contract (see docs/model.md). */
export interface ModelStatus {
  pack: { dir: string; name: string; architecture: string; activation: string; embeddingSize: number; imageSize: number };
  /** The provider the sessions run on. */
  provider: ProviderName;
  /** Every provider considered, in order: used, failed (with ONNX Runtime's reason) or skipped (why). */
  providers: ProviderAttempt[];
  threads: number;
  maxBatch: number;
  /** Creating both ONNX Runtime sessions. */
  sessionMs: number;
  /** Everything before warm-up: manifest, checksums, sessions, checks. */
  loadMs: number;
  warmUpMs: number | null;
}

function packProblem(pack: ModelPack, file: string, message: string, hint: string): KestrelError {
  return new KestrelError({ code: 'corrupt_file', message: `Model pack "${pack.manifest.name}": ${message}`, file, hint });
}

type TensorMeta = Ort.InferenceSession.ValueMetadata;

function describeShape(meta: TensorMeta): string {
  return meta.isTensor ? `${meta.type}[${meta.shape.join(', ')}]` : 'a non-tensor value';
}

/** Checks names, types and shapes of both towers against the manifest. Returns the text input type. */
function validateTowers(pack: ModelPack, image: Ort.InferenceSession, text: Ort.InferenceSession): 'int64' | 'int32' {
  const m = pack.manifest;
  const fix = 'Re-export the tower with the names and shapes the manifest states, or fix manifest.json.';
  const io = (
    session: Ort.InferenceSession,
    file: string,
    input: string,
    output: string,
  ): { input: TensorMeta; output: TensorMeta } => {
    const inMeta = session.inputMetadata.find((x) => x.name === input);
    const outMeta = session.outputMetadata.find((x) => x.name === output);
    if (!inMeta) {
      throw packProblem(pack, file, `the graph has no input named "${input}" (it has ${session.inputNames.map((n) => `"${n}"`).join(', ')}).`, fix);
    }
    if (!outMeta) {
      throw packProblem(pack, file, `the graph has no output named "${output}" (it has ${session.outputNames.map((n) => `"${n}"`).join(', ')}).`, fix);
    }
    if (session.inputNames.length !== 1) {
      throw packProblem(pack, file, `the graph takes ${session.inputNames.length} inputs; a tower takes exactly one.`, fix);
    }
    return { input: inMeta, output: outMeta };
  };
  const dimOk = (dim: number | string | undefined, want: number): boolean => typeof dim === 'string' || dim === want;
  const img = io(image, pack.imageModel, m.image.input, m.image.output);
  const s = m.image.size;
  if (!img.input.isTensor || img.input.type !== 'float32' || img.input.shape.length !== 4 || !dimOk(img.input.shape[1], 3) || !dimOk(img.input.shape[2], s) || !dimOk(img.input.shape[3], s)) {
    throw packProblem(pack, pack.imageModel, `input "${m.image.input}" is ${describeShape(img.input)}; float32[batch, 3, ${s}, ${s}] was expected (image.size in the manifest).`, fix);
  }
  const txt = io(text, pack.textModel, m.text.input, m.text.output);
  const c = m.text.contextLength;
  if (!txt.input.isTensor || (txt.input.type !== 'int64' && txt.input.type !== 'int32') || txt.input.shape.length !== 2 || !dimOk(txt.input.shape[1], c)) {
    throw packProblem(pack, pack.textModel, `input "${m.text.input}" is ${describeShape(txt.input)}; int64[batch, ${c}] was expected (text.contextLength in the manifest).`, fix);
  }
  const width = (meta: TensorMeta): number | string | undefined => (meta.isTensor && meta.shape.length === 2 ? meta.shape[1] : undefined);
  for (const [meta, file, name] of [[img.output, pack.imageModel, m.image.output], [txt.output, pack.textModel, m.text.output]] as const) {
    if (!meta.isTensor || meta.type !== 'float32' || meta.shape.length !== 2) {
      throw packProblem(pack, file, `output "${name}" is ${describeShape(meta)}; float32[batch, ${m.embeddingSize}] was expected.`, fix);
    }
  }
  const iw = width(img.output);
  const tw = width(txt.output);
  if (typeof iw === 'number' && typeof tw === 'number' && iw !== tw) {
    throw packProblem(pack, pack.textModel, `the towers' embedding sizes differ: the image tower gives ${iw} values, the text tower ${tw}; both must equal embeddingSize.`, 'The two ONNX files come from different models: export both towers of the same model.');
  }
  for (const [w, file] of [[iw, pack.imageModel], [tw, pack.textModel]] as const) {
    if (typeof w === 'number' && w !== m.embeddingSize) {
      throw packProblem(pack, file, `the tower gives ${w}-value embeddings but the manifest says embeddingSize ${m.embeddingSize}.`, fix);
    }
  }
  return txt.input.type as 'int64' | 'int32';
}

function l2normalize(v: Float32Array): Float32Array {
  let ss = 0;
  for (const x of v) ss += x * x;
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  return v.map((x) => x * inv);
}

export class ModelSession {
  readonly pack: ModelPack;
  readonly tokenizer: ClipTokenizer;
  readonly status: ModelStatus;
  private readonly ort: OrtModule;
  private readonly image: Ort.InferenceSession;
  private readonly text: Ort.InferenceSession;
  private readonly textType: 'int64' | 'int32';

  private constructor(init: {
    pack: ModelPack;
    ort: OrtModule;
    image: Ort.InferenceSession;
    text: Ort.InferenceSession;
    textType: 'int64' | 'int32';
    status: ModelStatus;
  }) {
    this.pack = init.pack;
    this.ort = init.ort;
    this.image = init.image;
    this.text = init.text;
    this.textType = init.textType;
    this.status = init.status;
    this.tokenizer = ClipTokenizer.fromFile(init.pack.vocabulary, init.pack.manifest.text.contextLength);
  }

  /** Reads and validates the pack, creates both sessions on the first provider that works, warms up. */
  static async open(dir: string, options: ModelSessionOptions = {}): Promise<ModelSession> {
    const started = performance.now();
    const pack = readModelPack(dir);
    const ort = loadOrt();
    const threads = options.threads ?? Math.max(1, availableParallelism());
    const plan = planProviders(options.provider ?? 'auto', ort.listSupportedBackends());
    const attempts: ProviderAttempt[] = [...plan.skipped];
    const sessionOptions = (ep: ProviderName): Ort.InferenceSession.SessionOptions => ({
      executionProviders: [ep],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    let loaded: { image: Ort.InferenceSession; text: Ort.InferenceSession; provider: ProviderName } | undefined;
    let lastError: unknown;
    const sessionsStarted = performance.now();
    for (const provider of plan.candidates) {
      let image: Ort.InferenceSession | undefined;
      try {
        image = await ort.InferenceSession.create(pack.imageModel, sessionOptions(provider));
        const text = await ort.InferenceSession.create(pack.textModel, sessionOptions(provider));
        attempts.push({ provider, outcome: 'used', reason: provider === 'cpu' && plan.candidates.length > 1 ? 'fallback: the providers before it did not load' : 'first provider that loaded' });
        loaded = { image, text, provider };
        break;
      } catch (err) {
        await image?.release();
        lastError = err;
        attempts.push({ provider, outcome: 'failed', reason: shortReason(err) });
      }
    }
    if (!loaded) throw sessionError(pack, lastError);
    const sessionMs = performance.now() - sessionsStarted;
    let textType: 'int64' | 'int32';
    try {
      textType = validateTowers(pack, loaded.image, loaded.text);
    } catch (err) {
      await Promise.all([loaded.image.release(), loaded.text.release()]);
      throw err;
    }
    const m = pack.manifest;
    const batchDim = loaded.image.inputMetadata[0]?.isTensor ? loaded.image.inputMetadata[0].shape[0] : 'batch';
    const maxBatch = typeof batchDim === 'number' ? batchDim : Math.max(1, options.maxBatch ?? 32);
    const status: ModelStatus = {
      pack: { dir: pack.dir, name: m.name, architecture: m.architecture.name, activation: m.architecture.activation, embeddingSize: m.embeddingSize, imageSize: m.image.size },
      provider: loaded.provider,
      providers: attempts,
      threads,
      maxBatch,
      sessionMs,
      loadMs: 0,
      warmUpMs: null,
    };
    const session = new ModelSession({ pack, ort, ...loaded, textType, status });
    status.loadMs = performance.now() - started;
    if (options.warmUp !== false) {
      const t0 = performance.now();
      try {
        await session.embedPixels(new Float32Array(3 * m.image.size * m.image.size), 1);
        await session.embedTexts(['']);
      } catch (err) {
        await session.close();
        throw err;
      }
      status.warmUpMs = performance.now() - t0;
    }
    return session;
  }

  /** The tokenizer's ids for each text (rows of contextLength). */
  tokenize(text: string): Int32Array {
    return this.tokenizer.tokenize(text);
  }

  /** Text embeddings, L2-normalised unless `normalize` is false (open_clip's raw tower output). */
  async embedTexts(texts: readonly string[], normalize = true): Promise<Float32Array[]> {
    return this.embedTokenRows(texts.map((t) => this.tokenizer.tokenize(t)), normalize);
  }

  async embedTokenRows(rows: readonly Int32Array[], normalize = true): Promise<Float32Array[]> {
    const c = this.pack.manifest.text.contextLength;
    const out: Float32Array[] = [];
    for (let start = 0; start < rows.length; start += this.status.maxBatch) {
      const chunk = rows.slice(start, start + this.status.maxBatch);
      const flat = new Int32Array(chunk.length * c);
      chunk.forEach((row, i) => flat.set(row.subarray(0, c), i * c));
      const data = this.textType === 'int64' ? BigInt64Array.from(flat, (v) => BigInt(v)) : flat;
      const tensor = new this.ort.Tensor(this.textType, data, [chunk.length, c]);
      out.push(...(await this.run(this.text, this.pack.manifest.text, tensor, chunk.length)));
    }
    return normalize ? out.map(l2normalize) : out;
  }

  /** Image embeddings from preprocessed pixels (count × 3 × size × size, CHW, float32). */
  async embedPixels(pixels: Float32Array, count: number, normalize = true): Promise<Float32Array[]> {
    const s = this.pack.manifest.image.size;
    const per = 3 * s * s;
    if (pixels.length !== per * count) {
      throw new KestrelError({ code: 'invalid_input', message: `Expected ${count} × 3 × ${s} × ${s} pixel values, got ${pixels.length}.` });
    }
    const out: Float32Array[] = [];
    for (let start = 0; start < count; start += this.status.maxBatch) {
      const n = Math.min(this.status.maxBatch, count - start);
      const tensor = new this.ort.Tensor('float32', pixels.subarray(start * per, (start + n) * per), [n, 3, s, s]);
      out.push(...(await this.run(this.image, this.pack.manifest.image, tensor, n)));
    }
    return normalize ? out.map(l2normalize) : out;
  }

  /** Decodes, preprocesses (per the manifest) and embeds image files. */
  async embedImageFiles(files: readonly string[], normalize = true): Promise<Float32Array[]> {
    const spec = this.pack.manifest.image;
    const per = 3 * spec.size * spec.size;
    const out: Float32Array[] = [];
    for (let start = 0; start < files.length; start += this.status.maxBatch) {
      const chunk = files.slice(start, start + this.status.maxBatch);
      const pixels = new Float32Array(per * chunk.length);
      for (const [i, file] of chunk.entries()) {
        normalizeInto(resizeForModel(await decodeImageFile(file), spec), spec, pixels, i * per);
      }
      out.push(...(await this.embedPixels(pixels, chunk.length, normalize)));
    }
    return out;
  }

  /** One batch through a tower: `io` names its input and output (the manifest's image or text entry). */
  private async run(session: Ort.InferenceSession, { input, output }: { input: string; output: string }, tensor: Ort.Tensor, n: number): Promise<Float32Array[]> {
    const result = await session.run({ [input]: tensor });
    const value = result[output];
    const d = this.pack.manifest.embeddingSize;
    if (!value || value.type !== 'float32' || value.dims.length !== 2 || value.dims[0] !== n || value.dims[1] !== d) {
      throw new KestrelError({
        code: 'corrupt_file',
        message: `Model pack "${this.pack.manifest.name}": output "${output}" came back as ${value ? `${value.type}[${value.dims.join(', ')}]` : 'nothing'}; float32[${n}, ${d}] was expected.`,
        file: this.pack.dir,
        hint: 'The ONNX file does not match its manifest: re-export it or fix embeddingSize.',
      });
    }
    const data = value.data as Float32Array;
    const rows: Float32Array[] = [];
    for (let i = 0; i < n; i++) rows.push(data.slice(i * d, (i + 1) * d));
    value.dispose();
    return rows;
  }

  async close(): Promise<void> {
    await Promise.all([this.image.release(), this.text.release()]);
  }
}

function sessionError(pack: ModelPack, err: unknown): KestrelError {
  const reason = shortReason(err);
  const op = /([\w.]+:\w+)\(-?\d+\) is not a registered function\/op/.exec(reason) ?? /Could not find an implementation for (\w+)/.exec(reason);
  if (op) {
    return new KestrelError({
      code: 'corrupt_file',
      message: `Model pack "${pack.manifest.name}" uses an operator this ONNX Runtime does not support (${op[1]}).`,
      file: pack.dir,
      hint: 'Re-export the model with standard ONNX operators (opset 17) or update Kestrel.',
    });
  }
  return new KestrelError({
    code: 'corrupt_file',
    message: `Model pack "${pack.manifest.name}" could not be loaded by ONNX Runtime: ${reason}`,
    file: pack.dir,
    hint: 'Check that image.onnx and text.onnx are complete ONNX files (opset 17 or older).',
  });
}
