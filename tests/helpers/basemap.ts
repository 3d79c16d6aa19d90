/** Basemaps for tests: real PNG tiles (sharp) in an XYZ folder or an MBTiles file (node-sqlite3-wasm). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import sharp from 'sharp';

export type Rgb = [number, number, number];

/** A 256 × 256 tile of one colour; with `grid`, a darker border and a cross every 64 px. */
export async function flatTile(colour: Rgb, options: { grid?: boolean; format?: 'png' | 'jpg' | 'webp' } = {}): Promise<Uint8Array> {
  const size = 256;
  const pixels = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const line = options.grid && (x % 64 === 0 || y % 64 === 0 || x === size - 1 || y === size - 1);
      const edge = options.grid && (x < 2 || y < 2 || x >= size - 2 || y >= size - 2);
      const k = edge ? 0.55 : line ? 0.8 : 1;
      const i = (y * size + x) * 3;
      pixels[i] = Math.round(colour[0] * k);
      pixels[i + 1] = Math.round(colour[1] * k);
      pixels[i + 2] = Math.round(colour[2] * k);
    }
  }
  const img = sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
  const format = options.format ?? 'png';
  const out = format === 'png' ? img.png() : format === 'jpg' ? img.jpeg() : img.webp();
  return new Uint8Array(await out.toBuffer());
}

/** The colour of a tile's centre pixel. */
export async function centreColour(data: Uint8Array): Promise<Rgb> {
  const { data: px, info } = await sharp(data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = ((info.height >> 1) * info.width + (info.width >> 1)) * 3;
  return [px[i]!, px[i + 1]!, px[i + 2]!];
}

export interface XyzTile {
  z: number;
  x: number;
  /** XYZ row: from the top. */
  y: number;
  data: Uint8Array;
}

/** Writes an MBTiles file; tiles are given in XYZ and stored as the spec says, in TMS rows (from the bottom). */
export function writeMbtiles(file: string, tiles: XyzTile[], metadata: Record<string, string>): void {
  const db = new sqlite.Database(file);
  try {
    db.exec('CREATE TABLE metadata (name TEXT, value TEXT); CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);');
    db.exec('CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)');
    for (const [name, value] of Object.entries(metadata)) db.run('INSERT INTO metadata VALUES (?, ?)', [name, value]);
    db.exec('BEGIN');
    const insert = db.prepare('INSERT INTO tiles VALUES (?, ?, ?, ?)');
    for (const t of tiles) insert.run([t.z, t.x, 2 ** t.z - 1 - t.y, t.data]);
    insert.finalize();
    db.exec('COMMIT');
  } finally {
    db.close();
  }
}

/** Writes an XYZ folder: <folder>/<z>/<x>/<y>.<ext>. */
export async function writeXyz(folder: string, tiles: XyzTile[], ext = 'png'): Promise<void> {
  for (const t of tiles) {
    await mkdir(join(folder, String(t.z), String(t.x)), { recursive: true });
    await writeFile(join(folder, String(t.z), String(t.x), `${t.y}.${ext}`), t.data);
  }
}

/** A world basemap for the map: zoom 0 to maxZoom, each tile a flat colour that varies with x and y, with a grid. */
export async function worldTiles(maxZoom: number): Promise<XyzTile[]> {
  const tiles: XyzTile[] = [];
  for (let z = 0; z <= maxZoom; z++) {
    const n = 2 ** z;
    for (let x = 0; x < n; x++) {
      for (let y = 0; y < n; y++) {
        const colour: Rgb = [150 + Math.round((80 * x) / n), 190 - Math.round((60 * y) / n), 120 + 20 * (z % 2)];
        tiles.push({ z, x, y, data: await flatTile(colour, { grid: true }) });
      }
    }
  }
  return tiles;
}
