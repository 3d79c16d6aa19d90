/** The checkpoint import worker (worker_threads): importModel off the engine's thread (see app/core/model/import/worker.ts). */
import { serveImport } from '../core/model/index.js';

serveImport();
