/**
 * The checkpoint importer's public face: checkpoint readers (PyTorch zip and legacy files through a
 * restricted unpickler, safetensors), layouts (open_clip, Hugging Face CLIPModel, HarMA), the ONNX graph
 * builder, and importModel, which turns a checkpoint into a model pack.
 */
export { importModel, isImportCancelled, recogniseModel, readLicenceFile, KNOWN_MODELS, IMPORTER_VERSION, type ImportOptions, type ImportProgress, type ImportResult, type KnownModel } from './importer.js';
export { openCheckpoint, type Checkpoint, type CheckpointFormat, type TensorInfo } from './checkpoint.js';
export { unpickle, ALLOWED_GLOBALS, type DType } from './pickle.js';
export { BUILTIN_ARCHITECTURES, resolveArchitecture, specFromOpenClip, specFromHf, type ClipSpec, type Activation, type OpenClipConfig } from './architectures.js';
export { detectLayout, planLayout, inferSpec, HARMA_HEADS, type Layout, type LayoutPlan, type AdapterSpec } from './layouts.js';
export { buildImageTower, buildTextTower, type Precision } from './graph.js';
export { writeOnnxModel, type OnnxModel } from './onnx-writer.js';
export { runImportInWorker, serveImport, type ImportOutcome, type ImportWorkerMessage, type ImportWorkerOptions, type ImportWorkerRequest } from './worker.js';
