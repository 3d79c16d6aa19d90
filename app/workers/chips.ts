/**
 * Chip worker (worker_threads): cuts an indexing job's chips and preprocesses them for the model,
 * off the engine's thread, ahead of inference (see app/core/jobs/chip-producer.ts).
 */
import { serveChips } from '../core/jobs/index.js';

serveChips();
