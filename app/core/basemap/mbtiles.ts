/**
 * MBTiles (https://github.com/mapbox/mbtiles-spec): an SQLite file with a `tiles` table (or view) of
 * (zoom_level, tile_column, tile_row, tile_data) in the TMS scheme, y from the bottom, and a
 * `metadata` table of name/value pairs. Read through node-sqlite3-wasm: SQLite compiled to
 * WebAssembly (nothing native to build per platform) that reads the file's pages on demand, so a
 * multi-gigabyte file costs a few pages per tile, never the whole file in memory.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { KestrelError, type ErrorCode } from '../../contract/index.js';
import type * as SqliteModule from 'node-sqlite3-wasm';
import { MIME, plainAttribution, sniffFormat, type BasemapSource, type TileFormat } from './common.js';

type Sqlite = typeof SqliteModule;
type Database = InstanceType<Sqlite['Database']>;
type Statement = ReturnType<Database['prepare']>;

let sqlite: Promise<Sqlite> | undefined;
/** The WebAssembly SQLite is compiled on first use, not when the engine starts. */
function loadSqlite(): Promise<Sqlite> {
  sqlite ??= import('node-sqlite3-wasm').then((m) => ((m as { default?: Sqlite }).default ?? m) as Sqlite);
  return sqlite;
}

const HINT = 'Choose a raster MBTiles file (an SQLite database with a tiles table and metadata), or a folder of XYZ tiles.';

function problem(file: string, message: string, code: ErrorCode = 'corrupt_file'): KestrelError {
  return new KestrelError({ code, message, file, hint: HINT });
}

const FORMATS: Record<string, TileFormat> = { png: 'png', jpg: 'jpg', jpeg: 'jpg', webp: 'webp' };

function parseBounds(value: string | undefined): [number, number, number, number] | null {
  if (!value) return null;
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) return null;
  const [w, s, e, n] = parts as [number, number, number, number];
  if (w < -180 || e > 180 || s < -90 || n > 90 || s >= n) return null;
  return [w, s, e, n];
}

function zoom(value: string | number | undefined | null): number | undefined {
  const n = typeof value === 'string' ? Number(value.trim()) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 30 ? n : undefined;
}

/** The tiles' image format: the metadata's, or else the first tile's (which also proves there is one). */
function tileFormat(db: Database, file: string, metadata: Map<string, string>): TileFormat {
  const declared = metadata.get('format')?.toLowerCase();
  if (declared === 'pbf' || declared === 'mvt') throw problem(file, `${basename(file)} holds vector tiles; Kestrel shows raster basemaps only (PNG, JPEG, WebP).`, 'invalid_input');
  // One tile tells the format when the metadata does not (and proves there is at least one).
  let first: { tile_data: unknown } | null;
  try {
    first = db.get('SELECT tile_data FROM tiles LIMIT 1') as typeof first;
  } catch (err) {
    throw problem(file, `The tiles of ${basename(file)} cannot be read (${(err as Error).message}).`);
  }
  if (!first) throw problem(file, `${basename(file)} contains no tiles.`, 'invalid_input');
  const format = (declared ? FORMATS[declared] : undefined) ?? (first.tile_data instanceof Uint8Array ? sniffFormat(first.tile_data) : undefined);
  if (!format) throw problem(file, `The tiles of ${basename(file)} are not PNG, JPEG or WebP images${declared ? ` (format "${declared}")` : ''}.`, 'invalid_input');
  return format;
}

/** The zoom levels: the metadata's, or else those the tiles table holds. */
function zoomRange(db: Database, file: string, metadata: Map<string, string>): { minZoom: number; maxZoom: number } {
  let minZoom = zoom(metadata.get('minzoom'));
  let maxZoom = zoom(metadata.get('maxzoom'));
  if (minZoom === undefined || maxZoom === undefined) {
    const range = db.get('SELECT MIN(zoom_level) AS lo, MAX(zoom_level) AS hi FROM tiles') as { lo: number | null; hi: number | null } | null;
    minZoom ??= zoom(range?.lo);
    maxZoom ??= zoom(range?.hi);
  }
  if (minZoom === undefined || maxZoom === undefined || minZoom > maxZoom) throw problem(file, `${basename(file)} has no valid zoom levels.`);
  return { minZoom, maxZoom };
}

export async function openMbtiles(file: string): Promise<BasemapSource> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new KestrelError({ code: 'not_found', message: `There is no MBTiles file at ${file}.`, file, hint: 'Check the path: it is read on the machine running Kestrel.' });
  }
  if (!info.isFile()) throw problem(file, `${file} is not a file.`, 'invalid_input');

  const { Database } = await loadSqlite();
  let db: Database;
  try {
    db = new Database(file, { readOnly: true });
  } catch (err) {
    throw problem(file, `Cannot open ${basename(file)}: ${(err as Error).message}.`, 'io_error');
  }
  let select: Statement | undefined;
  try {
    let objects: { name: string; type: string }[];
    try {
      objects = db.all("SELECT name, type FROM sqlite_master WHERE name IN ('tiles', 'metadata') AND type IN ('table', 'view')") as typeof objects;
    } catch (err) {
      throw problem(file, `${basename(file)} is not an MBTiles file (${(err as Error).message}).`);
    }
    if (!objects.some((o) => o.name === 'tiles')) throw problem(file, `${basename(file)} has no tiles table, so it is not an MBTiles file.`);
    if (!objects.some((o) => o.name === 'metadata')) throw problem(file, `${basename(file)} has no metadata table, so it is not an MBTiles file.`);

    const metadata = new Map<string, string>();
    try {
      for (const row of db.all('SELECT name, value FROM metadata') as { name: unknown; value: unknown }[]) {
        if (typeof row.name === 'string' && row.value !== null && row.value !== undefined) metadata.set(row.name, String(row.value));
      }
      select = db.prepare('SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?');
    } catch (err) {
      throw problem(file, `The tiles or metadata of ${basename(file)} cannot be read (${(err as Error).message}).`);
    }

    const format = tileFormat(db, file, metadata);
    const { minZoom, maxZoom } = zoomRange(db, file, metadata);

    const statement = select;
    const source: BasemapSource = {
      info: {
        kind: 'mbtiles',
        name: metadata.get('name')?.trim() || basename(file).replace(/\.mbtiles$/i, ''),
        format,
        minZoom,
        maxZoom,
        bounds: parseBounds(metadata.get('bounds')),
        attribution: plainAttribution(metadata.get('attribution')),
      },
      // One indexed lookup per tile: well under a millisecond, so it stays on the request's thread.
      tile: async (z, x, y) => {
        if (!db.isOpen) return undefined;
        const row = statement.get([z, x, 2 ** z - 1 - y]) as { tile_data: unknown } | null;
        const data = row?.tile_data;
        if (!(data instanceof Uint8Array) || data.length === 0) return undefined;
        return { body: data, type: MIME[sniffFormat(data) ?? format] };
      },
      close: () => {
        if (!db.isOpen) return;
        statement.finalize();
        db.close();
      },
    };
    return source;
  } catch (err) {
    select?.finalize();
    db.close();
    throw err;
  }
}
