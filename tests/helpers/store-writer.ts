/**
 * A process that writes a vector store as an indexing job would: batch after batch, each commit
 * carrying the progress cursor. The crash test kills it at random moments.
 * Usage: node --import tsx store-writer.ts <dir> <dim> <rowsPerBatch>
 */
import { VectorStore } from '../../app/core/vectors/index.js';
import { chipOf, unitVectors } from './vectors.js';

const [dir, dimArg, perArg] = process.argv.slice(2);
const dim = Number(dimArg);
const per = Number(perArg);
const store = await VectorStore.open(dir!, dim);
let batch = (store.meta as { batches?: number } | null)?.batches ?? 0;
process.stdout.write('ready\n');
for (;;) {
  const base = batch * per;
  store.append(unitVectors(per, dim, 1000 + batch), Array.from({ length: per }, (_, i) => chipOf(base + i)));
  batch += 1;
  await store.commit({ batches: batch });
}
