import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Low } from 'lowdb';
import { KestrelError, type ArchiveSummary, type Notice } from '../../contract/index.js';
import { openJsonStore } from './json-store.js';

export { openJsonStore } from './json-store.js';

/** A folder (or several) of imagery the user added, scanned recursively minus the exclude globs. */
export interface ArchiveRecord {
  id: string;
  name: string;
  roots: string[];
  excludes: string[];
  addedAt: string;
  sceneCount: number;
  /** What the last scan found. */
  lastScan: ScanSummary | null;
}

export interface ScanSummary {
  at: string;
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  /** Files that could not be read (kept in the catalog with status "error"). */
  errors: number;
}

/** How a file is recognised as unchanged: size, modification time, and a hash of parts of its content. */
export interface Fingerprint {
  size: number;
  mtimeMs: number;
  /** sha-256 (hex, 32 chars) of the size and three 64 KiB samples: head, middle, tail. */
  hash: string;
}

export type Polygonal =
  | { type: 'Polygon'; coordinates: [number, number][][] }
  | { type: 'MultiPolygon'; coordinates: [number, number][][][] };

/** What the catalog keeps of a scene's description (the full one is re-read from the file when needed). */
export interface SceneSummary {
  name: string;
  format: string;
  width: number;
  height: number;
  bands: number;
  dtype: string;
  epsg: number | null;
  georeferenced: boolean;
  footprint: Polygonal | null;
  /** [west, south, east, north] of the footprint (west > east across the antimeridian). */
  bbox: [number, number, number, number] | null;
}

export interface SceneRecord {
  /** Opaque, lowercase, ≤ 128 chars: usable as a tiles:// host. Stable for a path within its archive. */
  id: string;
  archiveId: string;
  path: string;
  fingerprint: Fingerprint;
  status: 'ok' | 'error';
  summary: SceneSummary | null;
  error: { message: string; hint?: string } | null;
  scannedAt: string;
}

/** An indexing job's persisted state, so an engine restarted after a crash resumes it. */
export interface JobRecord {
  archiveId: string;
  modelId: string;
  state: 'running' | 'paused' | 'cancelled' | 'done' | 'failed';
  startedAt: string;
  updatedAt: string;
  error: { message: string; file?: string; hint?: string } | null;
}

export interface CatalogData {
  /** Bumped when the document's shape changes, so a newer Kestrel can migrate an older catalog. */
  schemaVersion: 1;
  archives: ArchiveRecord[];
  jobs: JobRecord[];
}

interface SceneShard {
  schemaVersion: 1;
  archiveId: string;
  scenes: SceneRecord[];
}

const FILE = 'catalog.json';
const SHARDS = 'archives';

/**
 * The catalog: archives, their scenes, and jobs. Scenes live in one lowdb file per archive
 * (`archives/<id>.json`), so a large archive's rewrite does not rewrite the others. Vectors and
 * per-chip rows never live here (lowdb rewrites the whole file on every write).
 */
export class Catalog {
  private readonly shards = new Map<string, Promise<Low<SceneShard>>>();

  private constructor(
    private readonly dataDir: string,
    private readonly db: Low<CatalogData>,
    readonly notices: Notice[],
  ) {}

  static async open(dataDir: string): Promise<Catalog> {
    const { db, notice } = await openJsonStore<CatalogData>(dataDir, FILE, { schemaVersion: 1, archives: [], jobs: [] });
    db.data.archives ??= [];
    db.data.jobs ??= [];
    for (const a of db.data.archives as (ArchiveRecord & { root?: string })[]) {
      // Before scenes existed an archive had one root.
      a.roots ??= a.root ? [a.root] : [];
      a.excludes ??= [];
      a.lastScan ??= null;
      delete a.root;
    }
    return new Catalog(dataDir, db, notice ? [notice] : []);
  }

  listArchives(): ArchiveSummary[] {
    return this.db.data.archives.map((a) => ({
      id: a.id,
      name: a.name,
      root: a.roots[0] ?? '',
      roots: [...a.roots],
      excludes: [...a.excludes],
      sceneCount: a.sceneCount,
      addedAt: a.addedAt,
      lastScan: a.lastScan,
    }));
  }

  archive(id: string): ArchiveRecord | undefined {
    return this.db.data.archives.find((a) => a.id === id);
  }

  archives(): ArchiveRecord[] {
    return this.db.data.archives;
  }

  async addArchive(record: ArchiveRecord): Promise<void> {
    this.db.data.archives.push(record);
    await this.db.write();
  }

  async updateArchive(id: string, patch: Partial<Omit<ArchiveRecord, 'id'>>): Promise<void> {
    const a = this.archive(id);
    if (!a) return;
    Object.assign(a, patch);
    await this.db.write();
  }

  async removeArchive(id: string): Promise<void> {
    this.db.data.archives = this.db.data.archives.filter((a) => a.id !== id);
    this.db.data.jobs = this.db.data.jobs.filter((j) => j.archiveId !== id);
    await this.db.write();
    this.shards.delete(id);
    await rm(join(this.dataDir, SHARDS, `${id}.json`), { force: true });
  }

  private shard(archiveId: string): Promise<Low<SceneShard>> {
    let s = this.shards.get(archiveId);
    if (!s) {
      s = openJsonStore<SceneShard>(join(this.dataDir, SHARDS), `${archiveId}.json`, { schemaVersion: 1, archiveId, scenes: [] }).then(({ db, notice }) => {
        if (notice) this.notices.push(notice);
        db.data.scenes ??= [];
        return db;
      });
      this.shards.set(archiveId, s);
    }
    return s;
  }

  async scenes(archiveId: string): Promise<SceneRecord[]> {
    return (await this.shard(archiveId)).data.scenes;
  }

  /** Replaces an archive's scenes in one write (a scan batches its changes). */
  async setScenes(archiveId: string, scenes: SceneRecord[]): Promise<void> {
    const db = await this.shard(archiveId);
    db.data.scenes = scenes;
    await db.write();
    await this.updateArchive(archiveId, { sceneCount: scenes.filter((s) => s.status === 'ok').length });
  }

  /** Marks one scene unreadable (found while indexing). */
  async markSceneError(archiveId: string, sceneId: string, error: { message: string; hint?: string }): Promise<void> {
    const db = await this.shard(archiveId);
    const scene = db.data.scenes.find((s) => s.id === sceneId);
    if (!scene) return;
    scene.status = 'error';
    scene.error = error;
    await db.write();
  }

  jobs(): JobRecord[] {
    return this.db.data.jobs;
  }

  job(archiveId: string, modelId: string): JobRecord | undefined {
    return this.db.data.jobs.find((j) => j.archiveId === archiveId && j.modelId === modelId);
  }

  async saveJob(job: JobRecord): Promise<void> {
    const i = this.db.data.jobs.findIndex((j) => j.archiveId === job.archiveId && j.modelId === job.modelId);
    if (i >= 0) this.db.data.jobs[i] = job;
    else this.db.data.jobs.push(job);
    await this.db.write();
  }
}


/** An archive id the catalog holds, or a not_found error naming it. */
export function knownArchive(catalog: Pick<Catalog, 'archive'>, id: string): string {
  if (!catalog.archive(id)) throw new KestrelError({ code: 'not_found', message: `There is no archive ${id}.`, hint: 'archives.list shows the archives.' });
  return id;
}

/** An archive by id, or by one of its folders. */
export function resolveArchive(catalog: Pick<Catalog, 'archive' | 'archives'>, ref: string): string | undefined {
  return catalog.archive(ref)?.id ?? catalog.archives().find((a) => a.roots.some((r) => r === ref || r.replace(/[\\/]+$/, '') === ref.replace(/[\\/]+$/, '')))?.id;
}
