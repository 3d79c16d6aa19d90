/** The tuning worker (worker_threads): trains adapters on cached embeddings (see app/core/tune/worker.ts). */
import { serveTuning } from '../core/tune/index.js';

serveTuning();
