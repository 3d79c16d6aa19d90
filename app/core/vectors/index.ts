/** Vector storage and nearest-neighbour search for chip embeddings. Vectors never go into lowdb. */
export { VectorStore, EXACT_THRESHOLD, type ChipRow, type StoreHit, type SearchOptions } from './store.js';
export { StoreLock } from './lock.js';
export { encodeHalf, decodeHalf, toHalf } from './f16.js';
export { calibrate, dotScorer, exactTopK, zScore, type Calibration, type RankedRow, type TopKOptions } from './ranking.js';
