import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineChild, InferenceProcess } from '../../app/main/engine-process.js';
import type { FromEngine } from '../../app/core/index.js';

const root = new URL('../..', import.meta.url).pathname;

/**
 * The engine host (app/workers/engine.ts) as a real Node child process: the same role Electron's
 * utility process plays in the desktop app. `processes` collects the ChildProcess handles so
 * tests can kill them.
 */
export function engineForker(dataDir: string, processes: ChildProcess[]): () => EngineChild {
  // An existing data folder, not a first run (the first run adds and indexes the demo archive).
  try {
    mkdirSync(dataDir, { recursive: true });
    if (!existsSync(join(dataDir, 'settings.json'))) writeFileSync(join(dataDir, 'settings.json'), '{}');
  } catch {
    // a data folder that cannot be created: the engine reports it
  }
  return () => {
    const cp = fork(join(root, 'app/workers/engine.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, KESTREL_DATA: dataDir },
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    processes.push(cp);
    return {
      postMessage: (m) => cp.send(m),
      onMessage: (fn) => cp.on('message', (m) => fn(m as FromEngine)),
      onExit: (fn) => cp.on('exit', (code) => fn(code)),
      kill: () => cp.kill(),
    };
  };
}

/** The inference worker (app/workers/inference.ts) as a real child process, as main starts it for the engine. */
export function inferenceForker(processes: ChildProcess[]): () => InferenceProcess {
  return () => {
    const cp = fork(join(root, 'app/workers/inference.ts'), [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    processes.push(cp);
    return {
      get pid() {
        return cp.pid;
      },
      postMessage: (m) => cp.send(m as object),
      onMessage: (fn) => cp.on('message', fn),
      onExit: (fn) => cp.on('exit', (code, signal) => fn(code, signal)),
      kill: () => cp.kill(),
    };
  };
}
