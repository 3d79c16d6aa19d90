/**
 * Adapter tuning: HarMA-style adapters at the embedding level, the HarMA objective, AdamW, retrieval
 * metrics (RSITMD/RSICD protocol), training in a worker, adapter files and registry records.
 * See docs/tuning.md.
 */
export { applyAdapter, initParams, PARAM_NAMES, type AdapterConfig, type AdapterModel, type Params, type ParamName, type Tower } from './adapter.js';
export { createTuningBackend, lossAndGradients, type StepBatch, type StepResult, type TuningBackend, type TuningBackendKind } from './backend.js';
export { DEFAULT_LOSS, focalTriplet, harmaLoss, infoNce, type GradientInto, type LossOptions } from './losses.js';
export { createOrtMatMul, tsMatMul, type MatMul, type MatShape } from './matmul.js';
export { chanceMR, retrievalFromScores, retrievalMetrics, type EmbeddedPairs, type RetrievalMetrics } from './metrics.js';
export { AdamW, learningRate, type AdamWOptions } from './optim.js';
export { adapterRecord, deserializeAdapter, serializeAdapter, tuningDataHash, type AdapterFile, type AdapterRecord, type AdapterRecordSource } from './serialize.js';
export {
  DEFAULT_TUNING,
  evaluateAdapter,
  splitByImage,
  subset,
  trainAdapter,
  type TrainCallbacks,
  type TuningData,
  type TuningOptions,
  type TuningProgress,
  type TuningResult,
} from './train.js';
export { runTuningInWorker, serveTuning, type TuneWorkerMessage, type TuneWorkerRequest } from './worker.js';
export { evaluateCaptions, type CaptionEvaluation } from './evaluate.js';
export { AdapterRegistry, newAdapterId, type RegisteredAdapter } from './registry.js';
export { MIN_TUNING_IMAGES, tuneHandlers, type TuneHandlerDeps, type Tuning } from './handlers.js';
export { adaptersHandlers } from './adapters-handlers.js';
