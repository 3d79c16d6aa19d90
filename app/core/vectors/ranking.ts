/**
 * Ranking by similarity, shared by every path that scores vectors one by one: the exact (brute
 * force) top-k that the vector store, adapted search, caption suggestions and the annotation walk
 * all use, and the per-query calibration (a z-score against the query's similarity distribution)
 * that search ranking and the caption walk both report.
 */

/** A scored row. */
export interface RankedRow {
  row: number;
  score: number;
}

export interface TopKOptions {
  /** How many to keep. */
  k: number;
  /** Rows from..to (to excluded) are scored; from defaults to 0. */
  from?: number;
  to: number;
  /** Keep only rows this accepts (area, level, folder filters). */
  allow?: (row: number) => boolean;
  /** A row's score (usually its dot product with the query: see dotScorer). */
  score: (row: number) => number;
}

/**
 * The k best rows by score, best first; of equal scores the lower row comes first (as a stable sort
 * of the rows in order would give). A bounded heap: memory is O(k), not O(rows).
 */
export function exactTopK(options: TopKOptions): RankedRow[] {
  const { k, to, allow, score } = options;
  const top = new TopK(k);
  for (let row = options.from ?? 0; row < to; row++) {
    if (allow && !allow(row)) continue;
    top.push(row, score(row));
  }
  return top.sorted();
}

/** Scores rows of a row-major float32 matrix (rows × dim) by their dot product with a query. */
export function dotScorer(query: Float32Array, vectors: Float32Array, dim: number): (row: number) => number {
  return (row) => {
    const base = row * dim;
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += query[d]! * vectors[base + d]!;
    return dot;
  };
}

/** A query's similarity distribution over a sample: what its scores are calibrated against. */
export interface Calibration {
  mean: number;
  std: number;
  /** How many similarities the mean and standard deviation were taken over. */
  sample: number;
}

/**
 * The per-query calibration: the mean and (sample) standard deviation of the query's similarities
 * to a sample of rows. No similarities give mean 0; fewer than two give std 1; the variance is
 * floored at 1e-12 so that a flat distribution cannot divide by zero.
 */
export function calibrate(similarities: ArrayLike<number>): Calibration {
  const n = similarities.length;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const s = similarities[i]!;
    sum += s;
    sq += s * s;
  }
  const mean = n > 0 ? sum / n : 0;
  const std = n > 1 ? Math.sqrt(Math.max(1e-12, (sq - n * mean * mean) / (n - 1))) : 1;
  return { mean, std, sample: n };
}

/** A similarity as a calibrated score: how many standard deviations it stands above the query's mean. */
export function zScore(similarity: number, calibration: Pick<Calibration, 'mean' | 'std'>): number {
  return (similarity - calibration.mean) / calibration.std;
}

/** A bounded min-heap keeping the k best (row, score) pairs; a later row does not displace an equal score. */
class TopK {
  private readonly rows: number[] = [];
  private readonly scores: number[] = [];
  constructor(private readonly k: number) {}

  push(row: number, score: number): void {
    const { rows, scores, k } = this;
    if (rows.length < k) {
      rows.push(row);
      scores.push(score);
      this.up(rows.length - 1);
    } else if (k > 0 && score > scores[0]!) {
      rows[0] = row;
      scores[0] = score;
      this.down(0);
    }
  }

  sorted(): RankedRow[] {
    return this.rows.map((row, i) => ({ row, score: this.scores[i]! })).sort((a, b) => b.score - a.score || a.row - b.row);
  }

  /** Whether the entry at i ranks below the one at j (the heap keeps the lowest at its root). */
  private below(i: number, j: number): boolean {
    const si = this.scores[i]!;
    const sj = this.scores[j]!;
    return si < sj || (si === sj && this.rows[i]! > this.rows[j]!);
  }

  private swap(i: number, j: number): void {
    [this.rows[i], this.rows[j]] = [this.rows[j]!, this.rows[i]!];
    [this.scores[i], this.scores[j]] = [this.scores[j]!, this.scores[i]!];
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.below(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.rows.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.below(l, m)) m = l;
      if (r < n && this.below(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}
