/**
 * Adapter tuning on cached base embeddings: split by image, mini-batches of (image, caption) pairs,
 * the HarMA objective, AdamW with warm-up and linear decay, validation mR after every epoch, early
 * stopping (the best epoch's weights are kept), progress callbacks and cancellation.
 */
import { KestrelError } from '../../contract/index.js';
import { cloneParams, initParams, MAX_LOG_SCALE, mulberry32, type AdapterConfig, type Params } from './adapter.js';
import { createTuningBackend, type TuningBackend, type TuningBackendKind } from './backend.js';
import { DEFAULT_LOSS, type LossOptions } from './losses.js';
import { retrievalFromScores, type RetrievalMetrics } from './metrics.js';
import { AdamW } from './optim.js';

/** Base (frozen backbone) embeddings: what tuning learns from. */
export interface TuningData {
  dim: number;
  /** N×dim image embeddings, L2-normalised. */
  images: Float32Array;
  /** M×dim caption embeddings, L2-normalised. */
  texts: Float32Array;
  /** The image (0 … N−1) of each caption. */
  textImage: Int32Array;
}

export interface TuningOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Warm-up as a fraction of all steps. */
  warmupFraction: number;
  /** Fraction of images held out for validation (all their captions go with them). */
  valFraction: number;
  /** Stop after this many epochs without a better validation mR. */
  patience: number;
  seed: number;
  bottleneck: number;
  shared: number;
  loss: LossOptions;
  /** Which weights to return: the best validation epoch's (default) or the last epoch's. */
  keep: 'best' | 'last';
  /** Where steps run (see backend.ts). */
  backend: TuningBackendKind;
  /** Intra-op threads for ONNX Runtime (default: the cores available). */
  threads?: number;
}

export const DEFAULT_TUNING: TuningOptions = {
  epochs: 20,
  batchSize: 256,
  lr: 1e-3,
  weightDecay: 1e-4,
  warmupFraction: 0.05,
  valFraction: 0.1,
  patience: 4,
  seed: 1,
  bottleneck: 128,
  shared: 64,
  loss: DEFAULT_LOSS,
  keep: 'best',
  backend: 'onnxruntime',
};

export interface TuningProgress {
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch, and its two terms. */
  loss: number;
  nce: number;
  triplet: number;
  temperature: number;
  lr: number;
  val: RetrievalMetrics;
  /** The best validation mR so far and its epoch (0: the base model). */
  bestMR: number;
  bestEpoch: number;
  elapsedMs: number;
  /** Where this epoch's time went (ms): batches, back end steps, optimiser updates, validation. */
  timing: { batchMs: number; stepMs: number; updateMs: number; validationMs: number };
}

export interface TuningResult {
  config: AdapterConfig;
  /** The weights of the best epoch (the base model's identity adapter when no epoch beat it), or of the last with keep: 'last'. */
  params: Params;
  stopReason: 'completed' | 'early-stopped' | 'cancelled';
  baseline: RetrievalMetrics;
  best: RetrievalMetrics;
  bestEpoch: number;
  epochsRun: number;
  history: TuningProgress[];
  split: { trainImages: Int32Array; valImages: Int32Array };
  elapsedMs: number;
}

/** Seeded permutation of 0 … n−1. */
export function permutation(n: number, seed: number): Int32Array {
  const rand = mulberry32(seed >>> 0 || 1);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Train/validation split by image: no image (and so no caption of it) is on both sides. */
export function splitByImage(images: number, valFraction: number, seed: number): { trainImages: Int32Array; valImages: Int32Array } {
  const p = permutation(images, seed);
  const nVal = Math.min(images - 1, Math.max(1, Math.round(images * valFraction)));
  return { valImages: p.slice(0, nVal).sort(), trainImages: p.slice(nVal).sort() };
}

/** The rows of `src` (rows × dim) picked by `idx`, as one array. */
function gather(src: Float32Array, idx: ArrayLike<number>, dim: number): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) out.set(src.subarray(idx[i]! * dim, (idx[i]! + 1) * dim), i * dim);
  return out;
}

/** The sub-problem of some images: their embeddings, their captions, indices renumbered. */
export function subset(data: TuningData, images: Int32Array): TuningData {
  const local = new Map<number, number>();
  images.forEach((img, i) => local.set(img, i));
  const caps: number[] = [];
  for (let j = 0; j < data.textImage.length; j++) if (local.has(data.textImage[j]!)) caps.push(j);
  return {
    dim: data.dim,
    images: gather(data.images, images, data.dim),
    texts: gather(data.texts, caps, data.dim),
    textImage: Int32Array.from(caps, (j) => local.get(data.textImage[j]!)!),
  };
}

/** Retrieval metrics of `data` after the adapter. */
export async function evaluateAdapter(params: Params, data: TuningData, backend: TuningBackend): Promise<RetrievalMetrics> {
  const N = data.images.length / data.dim;
  const M = data.textImage.length;
  const zi = await backend.forward(params, 'image', data.images, N);
  const zt = await backend.forward(params, 'text', data.texts, M);
  return retrievalFromScores(await backend.scores(zt, zi, M, N), data.textImage, N);
}

export interface TrainCallbacks {
  onProgress?: (p: TuningProgress) => void;
  signal?: AbortSignal;
}

const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function trainAdapter(data: TuningData, options: Partial<TuningOptions> = {}, cb: TrainCallbacks = {}): Promise<TuningResult> {
  const o: TuningOptions = { ...DEFAULT_TUNING, ...options, loss: { ...DEFAULT_TUNING.loss, ...options.loss } };
  const started = performance.now();
  const N = data.images.length / data.dim;
  if (!Number.isInteger(N) || N < 2 || data.texts.length !== data.textImage.length * data.dim || data.textImage.some((i) => i < 0 || i >= N)) {
    throw new KestrelError({
      code: 'invalid_input',
      message: `Tuning needs at least two images, ${data.dim}-value embeddings for every image and caption, and every caption's image among them.`,
      hint: 'Check that the captions were matched to indexed images before tuning.',
    });
  }
  const config: AdapterConfig = { dim: data.dim, bottleneck: o.bottleneck, shared: o.shared };
  const split = splitByImage(N, o.valFraction, o.seed);
  const train = subset(data, split.trainImages);
  const val = subset(data, split.valImages);
  const params = initParams(config, o.seed);
  const backend = await createTuningBackend(o.backend, config, o.loss, o.threads);
  try {
    return await run({ o, data, config, split, train, val, params, backend, cb, started });
  } finally {
    await backend.close();
  }
}

/** One training run: the options, the data and its split, the weights, the back end, the callbacks. */
interface TrainingRun {
  o: TuningOptions;
  data: TuningData;
  config: AdapterConfig;
  split: TuningResult['split'];
  train: TuningData;
  val: TuningData;
  params: Params;
  backend: TuningBackend;
  cb: TrainCallbacks;
  started: number;
}

/** The batches of an epoch and the optimiser that steps through them. */
interface EpochPlan {
  pairs: number;
  batch: number;
  stepsPerEpoch: number;
  opt: AdamW;
}

/** What an epoch's steps add up to; `cancelled` when the signal stopped it part-way. */
interface EpochSums {
  sum: number;
  sumNce: number;
  sumTri: number;
  lr: number;
  timing: TuningProgress['timing'];
  cancelled: boolean;
}

/** The epochs' batches and the optimiser, with AdamW's warm-up and decay over all steps. */
function planEpochs({ o, train, params }: TrainingRun): EpochPlan {
  const pairs = train.textImage.length;
  if (pairs < 2) {
    throw new KestrelError({ code: 'invalid_input', message: `The training images have ${pairs} caption(s); tuning needs at least two.`, hint: 'Caption more images, or hold out fewer for validation.' });
  }
  const batch = Math.min(o.batchSize, pairs);
  const stepsPerEpoch = Math.floor(pairs / batch);
  const totalSteps = stepsPerEpoch * o.epochs;
  const opt = new AdamW(params, {
    lr: o.lr,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: o.weightDecay,
    warmupSteps: Math.max(1, Math.round(totalSteps * o.warmupFraction)),
    totalSteps,
  });
  return { pairs, batch, stepsPerEpoch, opt };
}

/** One epoch of steps over a seeded order of the training pairs. */
async function trainEpoch(r: TrainingRun, plan: EpochPlan, epoch: number, lr: number): Promise<EpochSums> {
  const { o, data, train, params, backend, cb } = r;
  const { pairs, batch, stepsPerEpoch, opt } = plan;
  const order = permutation(pairs, o.seed * 7919 + epoch);
  const sums: EpochSums = { sum: 0, sumNce: 0, sumTri: 0, lr, timing: { batchMs: 0, stepMs: 0, updateMs: 0, validationMs: 0 }, cancelled: false };
  const { timing } = sums;
  for (let s = 0; s < stepsPerEpoch; s++) {
    await yieldToEvents();
    if (cb.signal?.aborted) {
      sums.cancelled = true;
      return sums;
    }
    let t = performance.now();
    const idx = order.subarray(s * batch, (s + 1) * batch);
    const groups = Int32Array.from(idx, (j) => train.textImage[j]!);
    const xi = gather(train.images, groups, data.dim);
    const xt = gather(train.texts, idx, data.dim);
    timing.batchMs += performance.now() - t;
    t = performance.now();
    const step = await backend.step(params, xi, xt, groups);
    timing.stepMs += performance.now() - t;
    t = performance.now();
    sums.lr = opt.update(params, step.grads);
    params.logitScale[0] = Math.min(MAX_LOG_SCALE, Math.max(0, params.logitScale[0]!));
    timing.updateMs += performance.now() - t;
    sums.sum += step.loss;
    sums.sumNce += step.nce;
    sums.sumTri += step.triplet;
  }
  return sums;
}

async function run(r: TrainingRun): Promise<TuningResult> {
  const { o, config, split, val, params, backend, cb, started } = r;
  const plan = planEpochs(r);
  const { stepsPerEpoch } = plan;
  const baseline = await evaluateAdapter(params, val, backend);
  let best = baseline;
  let bestEpoch = 0;
  let bestParams = cloneParams(params);
  let sinceBest = 0;
  let stopReason: TuningResult['stopReason'] = 'completed';
  const history: TuningProgress[] = [];
  let epochsRun = 0;
  let lr = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const { sum, sumNce, sumTri, timing, cancelled, lr: epochLr } = await trainEpoch(r, plan, epoch, lr);
    lr = epochLr;
    if (cancelled) {
      stopReason = 'cancelled';
      break;
    }
    const tVal = performance.now();
    const metrics = await evaluateAdapter(params, val, backend);
    timing.validationMs = performance.now() - tVal;
    epochsRun = epoch;
    if (metrics.mR > best.mR) {
      best = metrics;
      bestEpoch = epoch;
      bestParams = cloneParams(params);
      sinceBest = 0;
    } else sinceBest++;
    const progress: TuningProgress = {
      epoch,
      epochs: o.epochs,
      loss: sum / stepsPerEpoch,
      nce: sumNce / stepsPerEpoch,
      triplet: sumTri / stepsPerEpoch,
      temperature: Math.exp(-params.logitScale[0]!),
      lr,
      val: metrics,
      bestMR: best.mR,
      bestEpoch,
      elapsedMs: performance.now() - started,
      timing,
    };
    history.push(progress);
    cb.onProgress?.(progress);
    if (sinceBest >= o.patience && epoch < o.epochs) {
      stopReason = 'early-stopped';
      break;
    }
  }
  return {
    config,
    params: o.keep === 'last' ? params : bestParams,
    stopReason,
    baseline,
    best,
    bestEpoch,
    epochsRun,
    history,
    split,
    elapsedMs: performance.now() - started,
  };
}
