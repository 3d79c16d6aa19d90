import type { Low } from 'lowdb';
import type { ArchiveSummary, Notice } from '../../contract/index.js';
import { openJsonStore } from './json-store.js';

/** A folder of imagery the user added. Scenes arrive with the index issue. */
export interface ArchiveRecord {
  id: string;
  name: string;
  root: string;
  addedAt: string;
  sceneCount: number;
}

export interface CatalogData {
  /** Bumped when the document's shape changes, so a newer Kestrel can migrate an older catalog. */
  schemaVersion: 1;
  archives: ArchiveRecord[];
}

const FILE = 'catalog.json';

/**
 * The catalog: archives, scenes, captions and their history, adapters and jobs. Vectors and
 * per-chip rows never live here (lowdb rewrites the whole file on every write).
 */
export class Catalog {
  private constructor(
    private readonly db: Low<CatalogData>,
    readonly notices: Notice[],
  ) {}

  static async open(dataDir: string): Promise<Catalog> {
    const { db, notice } = await openJsonStore<CatalogData>(dataDir, FILE, { schemaVersion: 1, archives: [] });
    db.data.archives ??= [];
    return new Catalog(db, notice ? [notice] : []);
  }

  listArchives(): ArchiveSummary[] {
    return this.db.data.archives.map(({ id, name, root, addedAt, sceneCount }) => ({ id, name, root, addedAt, sceneCount }));
  }
}
