/**
 * Electron main: the real Electron module handed to the shell (desktop.ts), and the engine forked
 * as a utility process (app/workers/engine.ts, built to out/main/workers/engine.js).
 */
import { fileURLToPath } from 'node:url';
import electron from 'electron';
import { DATA_DIR_ENV } from '../core/index.js';
import type { FromEngine } from '../core/index.js';
import { prepareDesktop, startDesktop, type ElectronLike } from './desktop.js';
import { EngineProcess } from './engine-process.js';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const api = electron as unknown as ElectronLike;

if (prepareDesktop(api)) {
  startDesktop(api, {
    preloadPath: here('../preload/index.cjs'),
    createEngine: (dataDir) =>
      new EngineProcess({
        fork: () => {
          const child = electron.utilityProcess.fork(here('./workers/engine.js'), [], {
            serviceName: 'Kestrel engine',
            env: { ...process.env, [DATA_DIR_ENV]: dataDir },
            stdio: 'inherit',
          });
          return {
            postMessage: (m) => child.postMessage(m),
            onMessage: (fn) => child.on('message', (m: FromEngine) => fn(m)),
            onExit: (fn) => child.on('exit', (code) => fn(code)),
            kill: () => void child.kill(),
          };
        },
        // ONNX Runtime in a process of its own, so a native crash there takes down only that process.
        forkInference: () => {
          const child = electron.utilityProcess.fork(here('./workers/inference.js'), [], { serviceName: 'Kestrel inference', stdio: 'inherit' });
          return {
            get pid() {
              return child.pid;
            },
            postMessage: (m) => child.postMessage(m),
            onMessage: (fn) => child.on('message', fn),
            onExit: (fn) => child.on('exit', (code) => fn(code, null)),
            kill: () => void child.kill(),
          };
        },
      }),
  }).catch((err: unknown) => {
    console.error('Kestrel failed to start:', err);
    electron.app.exit(1);
  });
}
