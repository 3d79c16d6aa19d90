import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { packageInfo } from './paths.js';

/**
 * Where a worker entry (app/workers/<name>.ts) lives at runtime: the built `out/main/workers/<name>.js`
 * (electron-vite builds each entry as an input of the main build), or, when Kestrel itself runs from
 * its TypeScript sources (tests, `tsx app/cli/index.ts`), the source file.
 */
export function workerEntry(name: string): { file: string; fromSource: boolean } {
  const root = packageInfo().root;
  if (import.meta.url.endsWith('.ts')) return { file: join(root, 'app', 'workers', `${name}.ts`), fromSource: true };
  return { file: join(root, 'out', 'main', 'workers', `${name}.js`), fromSource: false };
}

/**
 * Starts a worker thread on an app/workers entry. From sources, the worker first registers tsx's
 * loader and then imports the TypeScript entry (Node 20 does not apply `--import` to workers).
 */
export function startWorker(name: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const { file, fromSource } = workerEntry(name);
  // Always an object: the `web-worker` package (loaded by geotiff.js) takes any worker thread whose
  // workerData lacks its own fields for one of its own, and crashes on an undefined workerData.
  const opts: WorkerOptions = { ...options, workerData: options.workerData ?? {} };
  if (!fromSource) return new Worker(file, opts);
  const url = pathToFileURL(file).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(bootstrap, { ...opts, eval: true });
}
