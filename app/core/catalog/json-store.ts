import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { Notice } from '../../contract/index.js';

export interface OpenedStore<T> {
  db: Low<T>;
  /** Set when the file on disk could not be read and was set aside; the user is told. */
  notice?: Notice;
}

/**
 * Opens one lowdb JSON document in the data folder. lowdb writes through steno (temp file + rename),
 * so a crash mid-write leaves either the old or the new file, never half of one. A file that is not
 * valid JSON is never overwritten: it is renamed aside and the user told where it went.
 */
export async function openJsonStore<T>(dataDir: string, fileName: string, defaults: T): Promise<OpenedStore<T>> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, fileName);
  const db = new Low<T>(new JSONFile<T>(file), defaults);
  try {
    await db.read();
    return { db };
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(file, aside);
    db.data = structuredClone(defaults);
    return {
      db,
      notice: {
        level: 'warning',
        message: `${fileName} was not valid JSON (${err.message}); it was kept as ${aside} and Kestrel started with defaults.`,
        file,
      },
    };
  }
}
