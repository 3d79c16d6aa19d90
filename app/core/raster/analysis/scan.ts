import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { KestrelErrorData } from '../../../contract/index.js';
import { RasterError, rasterError } from '../errors.js';
import { describeScene, type SceneDescription } from '../scene.js';

export const RASTER_EXTENSIONS = ['.tif', '.tiff', '.cog', '.gtiff', '.jpg', '.jpeg', '.png'];

export interface FolderScan {
  scenes: SceneDescription[];
  /** One entry per file that could not be read: the scan went on past it. */
  errors: (KestrelErrorData & { problem: string })[];
}

/** Describes every raster under `dir` (recursively); a bad file is recorded and skipped, never fatal. */
export async function scanFolder(dir: string, onFile?: (file: string, index: number) => void): Promise<FolderScan> {
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      throw rasterError('unreadable', d, `Cannot list the folder ${d} (${(err as NodeJS.ErrnoException).code ?? String(err)}).`);
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory() && !RASTER_EXTENSIONS.includes(extname(e.name).toLowerCase())) await walk(p);
      else if (RASTER_EXTENSIONS.includes(extname(e.name).toLowerCase())) files.push(p);
    }
  };
  await walk(dir);
  const out: FolderScan = { scenes: [], errors: [] };
  for (const [i, file] of files.entries()) {
    onFile?.(file, i);
    try {
      out.scenes.push(await describeScene(file));
    } catch (err) {
      const e = err instanceof RasterError ? err : rasterError('corrupt_ifd', file, `${file} could not be read (${(err as Error).message}).`);
      out.errors.push({ ...e.toJSON(), problem: e.problem });
    }
  }
  return out;
}
