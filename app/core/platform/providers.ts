import { createRequire } from 'node:module';

export interface ExecutionProvider {
  name: string;
  bundled: boolean;
}

let cached: ExecutionProvider[] | undefined;

/**
 * The execution providers onnxruntime-node was built with on this platform, as it reports them.
 * `bundled: false` ones (cuda, tensorrt) need provider libraries that are installed separately.
 * Loading the native binding happens once, lazily; a failure to load is a clear error, not a crash.
 */
export function listExecutionProviders(): ExecutionProvider[] {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const ort = require('onnxruntime-node') as { listSupportedBackends?: () => { name: string; bundled: boolean }[] };
  if (typeof ort.listSupportedBackends !== 'function') {
    throw new Error('onnxruntime-node does not report its backends (listSupportedBackends is missing); reinstall with `npm run setup`.');
  }
  cached = ort.listSupportedBackends().map(({ name, bundled }) => ({ name, bundled }));
  return cached;
}
