/**
 * The platform's public face: where things live (data folder, package, renderer), atomic file
 * writes, worker-thread entries, the execution providers ONNX Runtime offers, and the parent port a
 * worker or utility process talks through. Plain Node, no electron.
 */
export { resolveDataDir, userDataDir, packageInfo, rendererDir, DATA_DIR_ENV, PRODUCT_NAME, type PackageInfo } from './paths.js';
export { listExecutionProviders, type ExecutionProvider } from './providers.js';
export { writeFileAtomic } from './files.js';
export { startWorker, workerEntry } from './workers.js';
export { parentPort, type ParentPort } from './parent-port.js';
