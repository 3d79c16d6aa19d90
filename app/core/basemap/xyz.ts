/**
 * A folder of XYZ tiles: `<folder>/<z>/<x>/<y>.<ext>`, y counted from the top (gdal2tiles --xyz,
 * MOBAC, most tile downloaders). The extension is found once, when the folder is opened; a tile's
 * path is built from three integers only, so no address can name another file.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { KestrelError } from '../../contract/index.js';
import { MIME, type BasemapSource, type TileFormat } from './common.js';

const TILE = /^(\d{1,10})\.(png|jpg|jpeg|webp)$/i;
const NUMBER = /^\d{1,10}$/;
const HINT = 'Choose a folder laid out as <zoom>/<x>/<y>.png (or .jpg, .jpeg, .webp), or an MBTiles file.';

async function numericDirs(dir: string): Promise<number[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && NUMBER.test(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => a - b);
}

export async function openXyz(folder: string): Promise<BasemapSource> {
  const info = await stat(folder).catch(() => undefined);
  if (!info) throw new KestrelError({ code: 'not_found', message: `There is no folder at ${folder}.`, file: folder, hint: 'Check the path: it is read on the machine running Kestrel.' });
  if (!info.isDirectory()) throw new KestrelError({ code: 'invalid_input', message: `${folder} is not a folder.`, file: folder, hint: HINT });

  const zooms = (await numericDirs(folder)).filter((z) => z <= 30);
  // The first tile found (lowest zoom first) fixes the extension for the whole folder.
  let ext: string | undefined;
  const withTiles: number[] = [];
  for (const z of zooms) {
    for (const x of (await numericDirs(join(folder, String(z)))).slice(0, 8)) {
      const names = await readdir(join(folder, String(z), String(x))).catch(() => [] as string[]);
      const tile = names.map((n) => TILE.exec(n)).find((m) => m !== null);
      if (tile) {
        ext ??= tile[2]!;
        withTiles.push(z);
        break;
      }
    }
  }
  if (!ext || withTiles.length === 0) {
    throw new KestrelError({ code: 'invalid_input', message: `${folder} contains no XYZ tiles (no <zoom>/<x>/<y>.png, .jpg, .jpeg or .webp file was found).`, file: folder, hint: HINT });
  }
  const lower = ext.toLowerCase();
  const format: TileFormat = lower === 'jpeg' ? 'jpg' : (lower as TileFormat);
  return {
    info: {
      kind: 'xyz',
      name: basename(folder) || folder,
      format,
      minZoom: withTiles[0]!,
      maxZoom: withTiles[withTiles.length - 1]!,
      bounds: null,
      attribution: null,
    },
    tile: async (z, x, y) => {
      const body = await readFile(join(folder, String(z), String(x), `${y}.${ext}`)).catch(() => undefined);
      return body && body.length > 0 ? { body: new Uint8Array(body), type: MIME[format] } : undefined;
    },
    close: () => {},
  };
}
