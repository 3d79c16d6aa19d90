/**
 * The vector store of one (archive, model): chip embeddings in an append-only float16 file with a
 * checksummed header, a row table mapping each row to its chip (scene, level, pixel window), and an
 * approximate HNSW index (usearch, f16) over a prefix of the rows, with exact re-ranking.
 *
 * Durability: rows are appended, then `commit()` fsyncs both files and atomically replaces
 * commit.json, which records how many rows exist (plus the caller's progress cursor). Whatever was
 * appended after the last commit is cut off when the store is opened again, so a crash at any
 * moment leaves exactly the rows of the last commit: no duplicate, no half row.
 */
import { mkdir, open, readFile, rename, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { createRequire } from 'node:module';
import type * as Usearch from 'usearch';
import { KestrelError } from '../../contract/index.js';
import { writeFileAtomic } from '../platform/index.js';
import { HALF_TO_FLOAT, encodeHalf } from './f16.js';
import { exactTopK, type TopKOptions } from './ranking.js';

// usearch's ES module finds its native build by inspecting the call stack, which goes wrong in a
// worker started from sources (it can land on the project's own build/ folder); its CommonJS entry
// uses __dirname and always finds it.
const { Index, MetricKind, ScalarKind } = createRequire(import.meta.url)('usearch') as typeof Usearch;
type Index = Usearch.Index;

/** Where a row's chip is: the scene (an index into the caller's scene table), level and pixel window. */
export interface ChipRow {
  scene: number;
  level: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface StoreHit {
  row: number;
  /** Cosine similarity of the stored (unit) vector with the unit query, from the raw vectors. */
  score: number;
}

export interface SearchOptions {
  /** Keep only rows this accepts (area, level, folder filters). */
  allow?: (row: number) => boolean;
  /** Force brute force over every row. */
  exact?: boolean;
}

const VEC_MAGIC = 'KSTRLVEC';
const ROW_MAGIC = 'KSTRLROW';
const VERSION = 1;
const VEC_HEADER = 64;
const ROW_HEADER = 32;
const ROW_STRIDE = 24;
/** Below this many rows brute force is as fast as the graph and exact by construction. */
export const EXACT_THRESHOLD = 50_000;

interface CommitRecord {
  version: 1;
  dim: number;
  rows: number;
  /** crc32 of the last committed vector row: a truncated or swapped file is caught on open. */
  tailCrc: number;
  /** Rows covered by hnsw.usearch (a prefix). */
  indexedRows: number;
  /** The caller's progress cursor, committed atomically with the rows. */
  meta: unknown;
}

/** What the constructor of an opened store takes. */
interface OpenedFiles {
  dir: string;
  dim: number;
  record: CommitRecord;
  vecs: FileHandle;
  rows: FileHandle;
  exactThreshold: number;
  readOnly: boolean;
}

function header(magic: string, fields: number[], size: number): Buffer {
  const buf = Buffer.alloc(size);
  buf.write(magic, 0, 'ascii');
  fields.forEach((v, i) => buf.writeUInt32LE(v >>> 0, 8 + 4 * i));
  buf.writeUInt32LE(crc32(buf.subarray(0, size - 4)), size - 4);
  return buf;
}

function readHeader(buf: Buffer, magic: string, size: number, file: string): number[] {
  const corrupt = (why: string): KestrelError =>
    new KestrelError({ code: 'corrupt_file', message: `The vector store file is damaged: ${why}.`, file, hint: 'Re-index this archive to rebuild it.' });
  if (buf.length < size) throw corrupt('its header is incomplete');
  if (buf.toString('ascii', 0, 8) !== magic) throw corrupt('it does not start with the Kestrel vector store signature');
  if (crc32(buf.subarray(0, size - 4)) !== buf.readUInt32LE(size - 4)) throw corrupt('its header checksum does not match');
  const fields: number[] = [];
  for (let off = 8; off < size - 4; off += 4) fields.push(buf.readUInt32LE(off));
  if (fields[0] !== VERSION) throw corrupt(`it has format version ${fields[0]}, this Kestrel reads ${VERSION}`);
  return fields;
}

export class VectorStore {
  private pendingVectors: Uint16Array[] = [];
  private pendingRows: ChipRow[] = [];
  private cache: Uint16Array | undefined;
  private rowCache: Uint32Array | undefined;
  private graph: Index | undefined;

  readonly dir: string;
  readonly dim: number;
  private record: CommitRecord;
  private readonly vecs: FileHandle;
  private readonly rows: FileHandle;
  private readonly exactThreshold: number;
  private readonly readOnly: boolean;

  private constructor(opened: OpenedFiles) {
    this.dir = opened.dir;
    this.dim = opened.dim;
    this.record = opened.record;
    this.vecs = opened.vecs;
    this.rows = opened.rows;
    this.exactThreshold = opened.exactThreshold;
    this.readOnly = opened.readOnly;
  }

  /** Opens the store in `dir`, creating it for `dim`-dimensional vectors if it does not exist. */
  static async open(dir: string, dim: number, options: { exactThreshold?: number; readOnly?: boolean } = {}): Promise<VectorStore> {
    const vecPath = join(dir, 'vectors.f16');
    const rowPath = join(dir, 'rows.bin');
    const commitPath = join(dir, 'commit.json');
    let record: CommitRecord;
    try {
      record = JSON.parse(await readFile(commitPath, 'utf8')) as CommitRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new KestrelError({ code: 'corrupt_file', message: `The vector store's commit record is unreadable: ${(err as Error).message}.`, file: commitPath, hint: 'Re-index this archive to rebuild it.' });
      }
      if (options.readOnly) throw new KestrelError({ code: 'not_found', message: 'There is no vector store here yet.', file: dir, hint: 'Index the archive first.' });
      // A new store: headers first, then the empty commit that makes it exist.
      await mkdir(dir, { recursive: true });
      for (const [path, magic, size, fields] of [
        [vecPath, VEC_MAGIC, VEC_HEADER, [VERSION, dim, 2]],
        [rowPath, ROW_MAGIC, ROW_HEADER, [VERSION, ROW_STRIDE]],
      ] as const) {
        const fh = await open(path, 'w');
        await fh.writeFile(header(magic, [...fields], size));
        await fh.sync();
        await fh.close();
      }
      record = { version: 1, dim, rows: 0, tailCrc: 0, indexedRows: 0, meta: null };
      await writeFileAtomic(commitPath, JSON.stringify(record));
    }
    // A reader that does not know the width (dim 0) takes the store's.
    if (options.readOnly && dim === 0) dim = record.dim;
    if (record.dim !== dim) {
      throw new KestrelError({
        code: 'invalid_input',
        message: `This vector store holds ${record.dim}-dimensional vectors, not ${dim}.`,
        file: dir,
        hint: 'Each model has its own store; re-index with the model the store was built for, or start a new one.',
      });
    }
    // A reader (search while a job appends, perhaps in another process) never truncates: bytes past
    // the commit are the writer's, not yet committed.
    const mode = options.readOnly ? 'r' : 'r+';
    const vecs = await open(vecPath, mode);
    const rows = await open(rowPath, mode);
    const store = new VectorStore({ dir, dim, record, vecs, rows, exactThreshold: options.exactThreshold ?? EXACT_THRESHOLD, readOnly: options.readOnly === true });
    try {
      await store.recover(vecPath, rowPath);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  private async recover(vecPath: string, rowPath: string): Promise<void> {
    const vh = Buffer.alloc(VEC_HEADER);
    await this.vecs.read(vh, 0, VEC_HEADER, 0);
    const [, dim] = readHeader(vh, VEC_MAGIC, VEC_HEADER, vecPath);
    if (dim !== this.dim) throw new KestrelError({ code: 'corrupt_file', message: `vectors.f16 declares ${dim} dimensions, the store ${this.dim}.`, file: vecPath, hint: 'Re-index this archive.' });
    const rh = Buffer.alloc(ROW_HEADER);
    await this.rows.read(rh, 0, ROW_HEADER, 0);
    readHeader(rh, ROW_MAGIC, ROW_HEADER, rowPath);

    const n = this.record.rows;
    const vecBytes = VEC_HEADER + n * this.dim * 2;
    const rowBytes = ROW_HEADER + n * ROW_STRIDE;
    const [vs, rs] = [(await this.vecs.stat()).size, (await this.rows.stat()).size];
    if (vs < vecBytes || rs < rowBytes) {
      throw new KestrelError({
        code: 'corrupt_file',
        message: `The vector store is shorter than its last commit (${n} rows): committed data is missing.`,
        file: vs < vecBytes ? vecPath : rowPath,
        hint: 'Re-index this archive to rebuild it.',
      });
    }
    // Rows appended after the last commit never happened.
    if (vs > vecBytes && !this.readOnly) await truncate(vecPath, vecBytes);
    if (rs > rowBytes && !this.readOnly) await truncate(rowPath, rowBytes);
    if (n > 0) {
      const last = Buffer.alloc(this.dim * 2);
      await this.vecs.read(last, 0, last.length, vecBytes - last.length);
      if (crc32(last) !== this.record.tailCrc) {
        throw new KestrelError({ code: 'corrupt_file', message: 'The last committed vector does not match its checksum.', file: vecPath, hint: 'Re-index this archive to rebuild it.' });
      }
    }
  }

  /** Committed rows. */
  get count(): number {
    return this.record.rows;
  }

  /** The progress cursor saved with the last commit. */
  get meta(): unknown {
    return this.record.meta;
  }

  /** Rows covered by the approximate index. */
  get indexedRows(): number {
    return this.record.indexedRows;
  }

  /** Queues unit vectors (n × dim, row-major) and their chips; nothing is durable before commit(). */
  append(vectors: Float32Array, chips: ChipRow[]): void {
    if (vectors.length !== chips.length * this.dim) {
      throw new KestrelError({ code: 'invalid_input', message: `append: ${chips.length} chips need ${chips.length * this.dim} values, got ${vectors.length}.` });
    }
    this.pendingVectors.push(encodeHalf(vectors));
    this.pendingRows.push(...chips);
  }

  get pending(): number {
    return this.pendingRows.length;
  }

  /**
   * Makes every appended row durable together with `meta`. On failure (a full disk, say) the files
   * are cut back to the previous commit and the error is rethrown: the store stays valid.
   */
  async commit(meta: unknown = this.record.meta): Promise<void> {
    const n = this.record.rows;
    const added = this.pendingRows.length;
    const vecBytes = VEC_HEADER + n * this.dim * 2;
    const rowBytes = ROW_HEADER + n * ROW_STRIDE;
    const vecData = Buffer.concat(this.pendingVectors.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)));
    const rowData = Buffer.alloc(added * ROW_STRIDE);
    this.pendingRows.forEach((r, i) => {
      const o = i * ROW_STRIDE;
      rowData.writeUInt32LE(r.scene, o);
      rowData.writeUInt32LE(r.level, o + 4);
      rowData.writeUInt32LE(r.x, o + 8);
      rowData.writeUInt32LE(r.y, o + 12);
      rowData.writeUInt32LE(r.width, o + 16);
      rowData.writeUInt32LE(r.height, o + 20);
    });
    const tail = added > 0 ? vecData.subarray(vecData.length - this.dim * 2) : undefined;
    const next: CommitRecord = { ...this.record, rows: n + added, tailCrc: tail ? crc32(tail) : this.record.tailCrc, meta };
    try {
      if (added > 0) {
        await this.vecs.write(vecData, 0, vecData.length, vecBytes);
        await this.rows.write(rowData, 0, rowData.length, rowBytes);
        await this.vecs.sync();
        await this.rows.sync();
      }
      await writeFileAtomic(join(this.dir, 'commit.json'), JSON.stringify(next));
    } catch (err) {
      await this.vecs.truncate(vecBytes).catch(() => {});
      await this.rows.truncate(rowBytes).catch(() => {});
      this.pendingVectors = [];
      this.pendingRows = [];
      const e = err as NodeJS.ErrnoException;
      throw new KestrelError({
        code: 'io_error',
        message: e.code === 'ENOSPC' ? 'The disk is full: the last vectors could not be saved.' : `Saving vectors failed: ${e.message}`,
        file: this.dir,
        hint: 'Free some space and resume the job; everything committed before is intact.',
      });
    }
    this.record = next;
    this.pendingVectors = [];
    this.pendingRows = [];
    this.cache = undefined;
    this.rowCache = undefined;
  }

  /** The chip of a committed row. */
  async chip(row: number): Promise<ChipRow> {
    const table = await this.rowTable();
    const o = row * 6;
    return { scene: table[o]!, level: table[o + 1]!, x: table[o + 2]!, y: table[o + 3]!, width: table[o + 4]!, height: table[o + 5]! };
  }

  /** The stored vector of a committed row, decoded to float32. */
  async vector(row: number): Promise<Float32Array> {
    const buf = new Uint16Array(this.dim);
    await this.vecs.read(new Uint8Array(buf.buffer), 0, this.dim * 2, VEC_HEADER + row * this.dim * 2);
    const out = new Float32Array(this.dim);
    for (let i = 0; i < this.dim; i++) out[i] = HALF_TO_FLOAT[buf[i]!]!;
    return out;
  }

  /**
   * Top-k rows by cosine similarity to a unit query. Below EXACT_THRESHOLD rows (or with `exact`),
   * brute force over the raw vectors; otherwise the HNSW graph proposes candidates (rows committed
   * after the last index update are scanned exactly) and every candidate is re-scored on its raw
   * vector, so the scores are exact even when the candidate set is approximate.
   */
  async search(query: Float32Array, k: number, options: SearchOptions = {}): Promise<StoreHit[]> {
    if (query.length !== this.dim) throw new KestrelError({ code: 'invalid_input', message: `The query has ${query.length} dimensions; this store holds ${this.dim}.` });
    const n = this.record.rows;
    if (n === 0 || k <= 0) return [];
    const allow = options.allow ?? (() => true);
    if (options.exact || n < this.exactThreshold || this.record.indexedRows === 0) return this.bruteForce(query, { k, allow, from: 0, to: n });

    const graph = await this.openGraph();
    const candidates = new Map<number, number>();
    // Over-fetch so that filters and quantisation do not starve the top k.
    for (let fetch = Math.max(4 * k, 64); ; fetch *= 4) {
      const found = graph.search(query, Math.min(fetch, this.record.indexedRows), 0);
      candidates.clear();
      for (const key of found.keys) {
        const row = Number(key);
        if (row < this.record.indexedRows && allow(row)) candidates.set(row, 0);
      }
      if (candidates.size >= 2 * k || fetch >= this.record.indexedRows) break;
      if (fetch >= 16 * Math.max(4 * k, 64)) {
        // A very selective filter: the graph is the wrong tool, scan.
        return this.bruteForce(query, { k, allow, from: 0, to: n });
      }
    }
    const rescored = await this.rescore(query, [...candidates.keys()]);
    const tail = this.record.indexedRows < n ? await this.bruteForce(query, { k, allow, from: this.record.indexedRows, to: n }) : [];
    const merged = [...rescored, ...tail];
    return exactTopK({ k, to: merged.length, score: (i) => merged[i]!.score }).map(({ row }) => merged[row]!);
  }

  /** Adds the rows not yet in the approximate index and saves it (a checkpoint). Blocking: run it in a worker. */
  async updateIndex(): Promise<void> {
    const from = this.record.indexedRows;
    const to = this.record.rows;
    if (to === from) return;
    const path = join(this.dir, 'hnsw.usearch');
    const graph = newGraph(this.dim);
    if (from > 0) graph.load(path);
    const batch = 4096;
    for (let start = from; start < to; start += batch) {
      const end = Math.min(to, start + batch);
      const vectors = new Float32Array((end - start) * this.dim);
      const raw = new Uint16Array((end - start) * this.dim);
      await this.vecs.read(new Uint8Array(raw.buffer), 0, raw.byteLength, VEC_HEADER + start * this.dim * 2);
      for (let i = 0; i < raw.length; i++) vectors[i] = HALF_TO_FLOAT[raw[i]!]!;
      const keys = new BigUint64Array(end - start);
      for (let i = 0; i < keys.length; i++) keys[i] = BigInt(start + i);
      graph.add(keys, vectors, 0);
    }
    const tmp = `${path}.tmp-${process.pid}`;
    graph.save(tmp);
    await rename(tmp, path);
    this.graph = undefined;
    const next = { ...this.record, indexedRows: to };
    await writeFileAtomic(join(this.dir, 'commit.json'), JSON.stringify(next));
    this.record = next;
  }

  async close(): Promise<void> {
    this.graph = undefined;
    await Promise.allSettled([this.vecs.close(), this.rows.close()]);
  }

  /** Removes the store's files (a re-index from scratch). */
  static async destroy(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  static async exists(dir: string): Promise<boolean> {
    return stat(join(dir, 'commit.json')).then(
      () => true,
      () => false,
    );
  }

  private async openGraph(): Promise<Index> {
    if (!this.graph) {
      const graph = newGraph(this.dim);
      graph.view(join(this.dir, 'hnsw.usearch'));
      this.graph = graph;
    }
    return this.graph;
  }

  private async allVectors(): Promise<Uint16Array> {
    if (!this.cache) {
      const bytes = this.record.rows * this.dim * 2;
      const buf = new Uint16Array(this.record.rows * this.dim);
      await this.vecs.read(new Uint8Array(buf.buffer), 0, bytes, VEC_HEADER);
      this.cache = buf;
    }
    return this.cache;
  }

  private async rowTable(): Promise<Uint32Array> {
    if (!this.rowCache) {
      const buf = new Uint32Array(this.record.rows * 6);
      await this.rows.read(new Uint8Array(buf.buffer), 0, buf.byteLength, ROW_HEADER);
      this.rowCache = buf;
    }
    return this.rowCache;
  }

  /** Exact top-k over committed rows from..to, scored on the raw float16 vectors. */
  private async bruteForce(query: Float32Array, range: Omit<TopKOptions, 'score'>): Promise<StoreHit[]> {
    const all = await this.allVectors();
    const dim = this.dim;
    const T = HALF_TO_FLOAT;
    const body = dim - (dim % 4);
    const score = (row: number): number => {
      const base = row * dim;
      // Four accumulators: independent additions pipeline better than one running sum.
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (let i = 0; i < body; i += 4) {
        d0 += query[i]! * T[all[base + i]!]!;
        d1 += query[i + 1]! * T[all[base + i + 1]!]!;
        d2 += query[i + 2]! * T[all[base + i + 2]!]!;
        d3 += query[i + 3]! * T[all[base + i + 3]!]!;
      }
      for (let i = body; i < dim; i++) d0 += query[i]! * T[all[base + i]!]!;
      return d0 + d1 + d2 + d3;
    };
    return exactTopK({ ...range, score });
  }

  private async rescore(query: Float32Array, rows: number[]): Promise<StoreHit[]> {
    const out: StoreHit[] = [];
    for (const row of rows) {
      const v = await this.vector(row);
      let dot = 0;
      for (let i = 0; i < this.dim; i++) dot += query[i]! * v[i]!;
      out.push({ row, score: dot });
    }
    return out;
  }
}

/** The HNSW graph: inner product on unit vectors (= cosine), f16 storage, usearch's default beam widths. */
function newGraph(dimensions: number): Index {
  return new Index({
    dimensions,
    metric: MetricKind.IP,
    quantization: ScalarKind.F16,
    connectivity: 16,
    expansion_add: 128,
    expansion_search: 64,
    multi: false,
  });
}
