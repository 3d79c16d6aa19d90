/**
 * The annotation walk behind captions.queue: an archive's chips under the active model, one page at
 * a time, either the uncaptioned ones in row order or the least confident first (the chips the
 * caption bank describes worst), leaving out the chips already described.
 */
import { KestrelError, type Handlers } from '../../contract/index.js';
import type { ModelRuntime } from '../model/index.js';
import { chipIdOf, type SearchService } from '../search/index.js';
import { exactTopK, zScore } from '../vectors/index.js';
import { bankSimilarities, type CaptionBank } from './bank.js';
import type { CaptionJournal } from './journal.js';

/** Chips ranked per call of the least-confident annotation walk (each is compared with the whole caption bank). */
export const QUEUE_SCAN = 2000;

type QueueInput = Parameters<Handlers['captions.queue']>[0];
type QueueOutput = Awaited<ReturnType<Handlers['captions.queue']>>;

export interface WalkDeps {
  search: Pick<SearchService, 'chipRows' | 'hitsOf' | 'rowVectors'>;
  bank: CaptionBank;
  journal: CaptionJournal;
  /** The active model (the archive was checked already). */
  model: { id: string; runtime: ModelRuntime; dim: number };
}

/** Chips already described: any caption in the uncaptioned walk, one written by a person in the other. */
async function describedChips(journal: CaptionJournal, archiveId: string, mode: QueueInput['mode']): Promise<Set<string>> {
  const done = new Set<string>();
  for (const c of await journal.list(archiveId)) {
    if ('chipId' in c.target && (mode === 'uncaptioned' || c.provenance === 'person')) done.add(c.target.chipId);
  }
  return done;
}

/** The next page of the walk. */
export async function annotationQueue(deps: WalkDeps, input: QueueInput): Promise<QueueOutput> {
  const { archiveId, mode, levels, limit, after } = input;
  const { search, bank, model: m } = deps;
  const texts = await bank.captions();
  if (mode === 'uncertain' && texts.length === 0) {
    throw new KestrelError({
      code: 'invalid_input',
      message: 'The least-confident walk ranks chips by how well the caption bank describes them, and the caption bank is empty.',
      hint: 'Import a caption bank first (Captions panel), or walk the uncaptioned chips.',
    });
  }
  const done = await describedChips(deps.journal, archiveId, mode);
  const rows = (await search.chipRows(archiveId, m.id, levels)).filter((r) => r.row > (after ?? -1) && !done.has(r.chipId));
  const want = limit ?? 50;
  if (mode === 'uncaptioned') {
    const page = rows.slice(0, want);
    const hits = await search.hitsOf(archiveId, m.id, page.map((r) => ({ row: r.row, score: 0, similarity: 0 })));
    const items = hits.map((hit) => ({ ...hit, confidence: null, suggestion: null }));
    return { model: m.id, mode, items, remaining: rows.length - page.length, scanned: page.length, next: page.length < rows.length ? page.at(-1)!.row : null, bankSize: texts.length };
  }
  const scanned = rows.slice(0, QUEUE_SCAN);
  const rated = await rateChips(deps, archiveId, scanned.map((r) => r.row));
  // Least confident first: the lowest confidences are the best of their negations (ties keep row order).
  const page = exactTopK({ k: want, to: rated.length, score: (i) => -rated[i]!.score }).map(({ row }) => rated[row]!);
  const bestOf = new Map(page.map((r) => [chipIdOf(archiveId, m.id, r.row), r.best]));
  const hits = await search.hitsOf(archiveId, m.id, page);
  const items = hits.map((hit) => ({ ...hit, confidence: hit.score, suggestion: texts[bestOf.get(hit.chipId)!]! }));
  return {
    model: m.id,
    mode,
    items,
    remaining: rows.length - scanned.length,
    scanned: scanned.length,
    next: scanned.length < rows.length ? scanned.at(-1)!.row : null,
    bankSize: texts.length,
  };
}

/**
 * Each chip's confidence: the calibrated score of the bank caption that fits it best (how far it
 * stands out from the rest of the bank), as search.suggestCaptions scores it; chips without a vector are left out.
 */
async function rateChips(deps: WalkDeps, archiveId: string, rows: number[]): Promise<{ row: number; score: number; similarity: number; best: number }[]> {
  const { model: m } = deps;
  const bank = await deps.bank.embeddings(m.id, m.dim, (t) => m.runtime.embedTexts(t));
  const vectors = await deps.search.rowVectors(archiveId, m.id, rows);
  const rated: { row: number; score: number; similarity: number; best: number }[] = [];
  for (const [i, row] of rows.entries()) {
    const v = vectors[i];
    if (!v) continue;
    const { sims, calibration } = bankSimilarities(v, bank, m.dim);
    const [top] = exactTopK({ k: 1, to: sims.length, score: (j) => sims[j]! });
    rated.push({ row, score: zScore(top!.score, calibration), similarity: top!.score, best: top!.row });
  }
  return rated;
}
