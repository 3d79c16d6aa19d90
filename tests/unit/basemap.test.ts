/** The local basemap: MBTiles (TMS rows) and XYZ folders, read with real PNG tiles. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BasemapService, openBasemap } from '../../app/core/basemap/index.js';
import { openEngine } from '../../app/core/index.js';
import { centreColour, flatTile, writeMbtiles, writeXyz, type Rgb } from '../helpers/basemap.js';
import { tempDir } from '../helpers/tmp.js';

const RED: Rgb = [220, 30, 30];
const GREEN: Rgb = [30, 200, 60];
const BLUE: Rgb = [40, 60, 220];
const YELLOW: Rgb = [230, 210, 20];
const GREY: Rgb = [128, 128, 128];

const near = (a: Rgb, b: Rgb): boolean => a.every((v, i) => Math.abs(v - b[i]!) <= 2);

let dir: { path: string; remove(): Promise<void> };
beforeAll(async () => (dir = await tempDir('kestrel-basemap-')));
afterAll(() => dir.remove());

/**
 * Written row by row in TMS, as the MBTiles spec stores them, without the helper's flip: row 0 is the
 * southern row. At zoom 1: south-west red, south-east green, north-west blue, north-east yellow.
 */
async function tmsFile(name: string, metadata: Record<string, string>): Promise<string> {
  const file = join(dir.path, name);
  const db = new sqlite.Database(file);
  db.exec('CREATE TABLE metadata (name TEXT, value TEXT); CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);');
  for (const [k, v] of Object.entries(metadata)) db.run('INSERT INTO metadata VALUES (?, ?)', [k, v]);
  const rows: [number, number, number, Rgb][] = [
    [1, 0, 0, RED],
    [1, 1, 0, GREEN],
    [1, 0, 1, BLUE],
    [1, 1, 1, YELLOW],
    [2, 3, 3, GREY],
  ];
  for (const [z, col, row, colour] of rows) db.run('INSERT INTO tiles VALUES (?, ?, ?, ?)', [z, col, row, await flatTile(colour)]);
  db.close();
  return file;
}

describe('MBTiles basemap', () => {
  it('describes itself from its metadata, attribution as plain text', async () => {
    const file = await tmsFile('described.mbtiles', {
      name: 'Test world',
      format: 'png',
      minzoom: '1',
      maxzoom: '2',
      bounds: '-180,-85.05,180,85.05',
      attribution: '<a href="https://example.org/">&copy; Example</a> <script>alert(1)</script>contributors',
    });
    const source = await openBasemap({ kind: 'mbtiles', file });
    expect(source.info).toEqual({
      kind: 'mbtiles',
      name: 'Test world',
      format: 'png',
      minZoom: 1,
      maxZoom: 2,
      bounds: [-180, -85.05, 180, 85.05],
      attribution: '© Example alert(1)contributors',
    });
    source.close();
  });

  it('flips TMS rows: XYZ y 0 is the northern row', async () => {
    const source = await openBasemap({ kind: 'mbtiles', file: await tmsFile('flip.mbtiles', { name: 'flip', format: 'png' }) });
    const colour = async (z: number, x: number, y: number): Promise<Rgb> => {
      const tile = await source.tile(z, x, y);
      expect(tile?.type).toBe('image/png');
      return centreColour(tile!.body);
    };
    expect(near(await colour(1, 0, 0), BLUE)).toBe(true);
    expect(near(await colour(1, 1, 0), YELLOW)).toBe(true);
    expect(near(await colour(1, 0, 1), RED)).toBe(true);
    expect(near(await colour(1, 1, 1), GREEN)).toBe(true);
    // TMS (3, 3) at zoom 2 is XYZ (3, 0): the north-east corner.
    expect(near(await colour(2, 3, 0), GREY)).toBe(true);
    expect(await source.tile(2, 3, 3)).toBeUndefined();
    source.close();
  });

  it('finds zoom levels in the tiles and the format in the bytes when the metadata says nothing', async () => {
    const source = await openBasemap({ kind: 'mbtiles', file: await tmsFile('bare.mbtiles', {}) });
    expect(source.info).toMatchObject({ name: 'bare', format: 'png', minZoom: 1, maxZoom: 2, bounds: null, attribution: null });
    source.close();
  });

  it('answers no tile for missing tiles, zoom levels it does not have, and addresses off the grid', async () => {
    const service = new BasemapService({ kind: 'mbtiles', file: await tmsFile('gaps.mbtiles', { name: 'gaps', minzoom: '1', maxzoom: '2' }) });
    expect(await service.tile(1, 0, 0)).toBeDefined();
    expect(await service.tile(2, 0, 0)).toBeUndefined(); // in range, not in the file
    for (const [z, x, y] of [
      [0, 0, 0],
      [3, 0, 0],
      [31, 0, 0],
      [-1, 0, 0],
      [1, 2, 0],
      [1, 0, 2],
      [1, -1, 0],
      [1.5, 0, 0],
      [1, 0.5, 0],
      [Number.NaN, 0, 0],
    ]) {
      expect(await service.tile(z!, x!, y!), `${z}/${x}/${y}`).toBeUndefined();
    }
    service.close();
    expect(await service.tile(1, 0, 0)).toBeUndefined();
  });

  it('refuses a file that is not SQLite, naming it and saying what to do', async () => {
    const file = join(dir.path, 'corrupt.mbtiles');
    await writeFile(file, Buffer.alloc(64 * 1024, 'not a database '));
    const err = await openBasemap({ kind: 'mbtiles', file }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'corrupt_file', file });
    expect((err as Error).message).toMatch(/corrupt\.mbtiles is not an MBTiles file/);
    expect((err as { hint: string }).hint).toMatch(/MBTiles/);
  });

  it('refuses an SQLite file without a tiles table, an empty one, vector tiles, and a missing file', async () => {
    const noTiles = join(dir.path, 'no-tiles.mbtiles');
    const db = new sqlite.Database(noTiles);
    db.exec('CREATE TABLE metadata (name TEXT, value TEXT)');
    db.close();
    await expect(openBasemap({ kind: 'mbtiles', file: noTiles })).rejects.toMatchObject({ code: 'corrupt_file', file: noTiles, message: expect.stringMatching(/no tiles table/) });

    const empty = join(dir.path, 'empty.mbtiles');
    writeMbtiles(empty, [], { name: 'empty' });
    await expect(openBasemap({ kind: 'mbtiles', file: empty })).rejects.toMatchObject({ file: empty, message: expect.stringMatching(/contains no tiles/) });

    const vector = join(dir.path, 'vector.mbtiles');
    writeMbtiles(vector, [{ z: 0, x: 0, y: 0, data: new Uint8Array([0x1a, 0x02, 0x08, 0x01]) }], { name: 'v', format: 'pbf' });
    await expect(openBasemap({ kind: 'mbtiles', file: vector })).rejects.toMatchObject({ message: expect.stringMatching(/vector tiles/) });

    const missing = join(dir.path, 'missing.mbtiles');
    await expect(openBasemap({ kind: 'mbtiles', file: missing })).rejects.toMatchObject({ code: 'not_found', file: missing });
  });

  it('opens lazily, says why when it cannot, and serves a replacement at once', async () => {
    const missing = join(dir.path, 'later.mbtiles');
    const service = new BasemapService({ kind: 'mbtiles', file: missing });
    await expect(service.info()).rejects.toMatchObject({ code: 'not_found', file: missing });
    expect(await service.tile(1, 0, 0)).toBeUndefined();
    // The file appears: the next call opens it.
    writeMbtiles(missing, [{ z: 1, x: 0, y: 0, data: await flatTile(RED) }], { name: 'later' });
    const first = await service.info();
    expect(first?.name).toBe('later');
    const other = await tmsFile('replacement.mbtiles', { name: 'replacement' });
    service.replace({ kind: 'mbtiles', file: other });
    const second = await service.info();
    expect(second?.name).toBe('replacement');
    expect(second?.version).not.toBe(first?.version);
    service.replace(null);
    expect(await service.info()).toBeNull();
    expect(await service.tile(1, 0, 0)).toBeUndefined();
  });
});

describe('XYZ folder basemap', () => {
  it('reads <z>/<x>/<y> with y from the top and finds the extension once', async () => {
    const folder = join(dir.path, 'xyz');
    await writeXyz(folder, [
      { z: 2, x: 1, y: 0, data: await flatTile(BLUE) },
      { z: 2, x: 1, y: 3, data: await flatTile(RED) },
      { z: 3, x: 5, y: 2, data: await flatTile(GREEN) },
    ]);
    await writeFile(join(folder, 'README.txt'), 'not a tile');
    const service = new BasemapService({ kind: 'xyz', folder });
    expect(await service.info()).toMatchObject({ kind: 'xyz', name: 'xyz', format: 'png', minZoom: 2, maxZoom: 3, bounds: null, attribution: null });
    expect(near(await centreColour((await service.tile(2, 1, 0))!.body), BLUE)).toBe(true);
    expect(near(await centreColour((await service.tile(2, 1, 3))!.body), RED)).toBe(true);
    expect((await service.tile(3, 5, 2))?.type).toBe('image/png');
    expect(await service.tile(2, 0, 0)).toBeUndefined();
    expect(await service.tile(1, 0, 0)).toBeUndefined();
    service.close();
  });

  it('serves .jpeg folders as JPEG', async () => {
    const folder = join(dir.path, 'jpeg');
    await writeXyz(folder, [{ z: 0, x: 0, y: 0, data: await flatTile(GREY, { format: 'jpg' }) }], 'jpeg');
    const source = await openBasemap({ kind: 'xyz', folder });
    expect(source.info.format).toBe('jpg');
    expect((await source.tile(0, 0, 0))?.type).toBe('image/jpeg');
  });

  it('cannot be led outside the folder: addresses are integers on the grid only', async () => {
    const folder = join(dir.path, 'jail', 'tiles');
    await writeXyz(folder, [{ z: 1, x: 0, y: 0, data: await flatTile(RED) }]);
    // Files an escaping address would reach.
    await writeFile(join(dir.path, 'jail', '0.png'), await flatTile(GREEN));
    const service = new BasemapService({ kind: 'xyz', folder });
    for (const [z, x, y] of [
      [1, -1, 0],
      [1, 0, -1],
      [1, 0.5, 0],
      [1, 2, 0],
      [Number.NaN, 0, 0],
      [1, Number.POSITIVE_INFINITY, 0],
    ]) {
      expect(await service.tile(z!, x!, y!), `${z}/${x}/${y}`).toBeUndefined();
    }
    expect(await service.tile(1, 0, 0)).toBeDefined();
  });

  it('refuses a folder without tiles, a file, and a missing folder, naming each', async () => {
    const empty = join(dir.path, 'no-tiles');
    await mkdir(join(empty, '3', '4'), { recursive: true });
    await writeFile(join(empty, '3', '4', 'notes.txt'), 'x');
    await expect(openBasemap({ kind: 'xyz', folder: empty })).rejects.toMatchObject({ code: 'invalid_input', file: empty, message: expect.stringMatching(/contains no XYZ tiles/) });
    const file = join(dir.path, 'a-file.png');
    await writeFile(file, await flatTile(RED));
    await expect(openBasemap({ kind: 'xyz', folder: file })).rejects.toMatchObject({ code: 'invalid_input', file, message: expect.stringMatching(/is not a folder/) });
    await expect(openBasemap({ kind: 'xyz', folder: join(dir.path, 'nowhere') })).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('the engine and the basemap', () => {
  it('checks the setting, serves tiles (a transparent one where the basemap has none), and nothing without a basemap', async () => {
    const data = await tempDir();
    const engine = await openEngine({ dataDir: data.path, runtime: 'in-process', loadModel: false });
    try {
      expect(await engine.basemap(1, 0, 0)).toBeUndefined();
      const file = await tmsFile('engine.mbtiles', { name: 'engine', minzoom: '1', maxzoom: '2' });
      await engine.handlers['settings.set']({ basemap: { kind: 'mbtiles', file } });
      expect(near(await centreColour((await engine.basemap(1, 0, 0))!.body), BLUE)).toBe(true);
      const blank = await engine.basemap(2, 0, 0);
      expect(blank?.type).toBe('image/png');
      expect((await sharp(blank!.body).stats()).isOpaque).toBe(false);
      expect(await engine.basemap(1, 5, 0)).toBeUndefined();
      await engine.handlers['settings.set']({ basemap: null });
      expect(await engine.basemap(1, 0, 0)).toBeUndefined();
    } finally {
      await engine.close();
      await data.remove();
    }
  });
});
