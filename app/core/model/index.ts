/**
 * The model runtime's public face: model packs, the CLIP tokenizer, preprocessing, ONNX Runtime
 * sessions with execution-provider fallback, and the inference worker that hosts them.
 */
export { ModelPackManifest, readModelPack, BUILTIN_CLIP_VOCABULARY, type ModelPack } from './manifest.js';
export { ModelSession, loadOrt, type ModelSessionOptions, type ModelStatus } from './session.js';
export {
  planProviders,
  autoOrder,
  providerLibraryPresent,
  type ProviderAttempt,
  type ProviderName,
  type ProviderPlan,
  type ProviderPreference,
} from './providers.js';
export { decodeImage, decodeImageFile, preprocess, resizeBicubic, resizeForModel, centerCrop, normalizeInto, type RgbImage, type PreprocessSpec } from './preprocess.js';
export { ClipTokenizer, cleanText, fixText, START_OF_TEXT, END_OF_TEXT } from './tokenizer/index.js';
export { resourcesDir, clipVocabularyPath, RESOURCES_ENV } from './resources.js';
export { ModelRuntime, forkInferenceWorker, type ModelRuntimeOptions, type ModelRuntimeStatus, type InferenceChild } from './runtime.js';
export { ModelLibrary, type ModelLibraryOptions } from './library.js';
export { ModelImports, packIdFor, type ModelImportsOptions, type ImportRequest } from './imports.js';
export type { FromInference, ToInference } from './protocol.js';
export { GraphBuilder, type ElemType, type AttrValue } from './onnx-graph.js';
export { serveInference } from './worker.js';
export {
  importModel,
  runImportInWorker,
  serveImport,
  isImportCancelled,
  openCheckpoint,
  recogniseModel,
  readLicenceFile,
  KNOWN_MODELS,
  BUILTIN_ARCHITECTURES,
  ALLOWED_GLOBALS,
  type ImportOptions,
  type ImportProgress,
  type ImportResult,
  type Checkpoint,
  type Layout,
  type Precision,
} from './import/index.js';
export * from './starter/index.js';
export { activeModelOf, modelHandlers, type ActiveModel, type ModelHandlerDeps } from './handlers.js';
