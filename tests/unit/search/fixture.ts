/**
 * Test archives built from the shared rasters by symbolic links in a temporary folder (the files are
 * read in place, never copied), the tiny model packs, and the chips each scene should yield,
 * enumerated independently through the raster engine's public face.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { bandMapping, extractChips, openScene, planChips, sceneStatistics } from '../../../app/core/raster/index.js';

export const REPO = resolve(import.meta.dirname, '..', '..', '..');
export const SHARED = resolve(REPO, '..', 'shared', 'data');
export const HAVE_DATA = existsSync(join(SHARED, 'geotiff'));
export const SKIP_REASON = `skipped: ${SHARED} is missing (the shared test rasters live in ../shared/data)`;
export const PACKS = join(REPO, 'tests', 'fixtures', 'model', 'packs');
/** The tiny packs' image size: chips are cut at 224 px and area-averaged to this. */
export const TINY_IMAGE_SIZE = 64;

/** Small real scenes: a COG, UTM stripped, EPSG:4326, a rotated-free RGB, a pixel-space JPEG and TIFF. */
export const SMALL_SCENES = ['geotiff/cogeo.tif', 'geotiff/rio-tiler/cog_rgb.tif', 'geotiff/RGB.byte.tif', 'geotiff/world.rgb.tif', 'rs-captioned/rsicd/00001.jpg', 'rs-captioned/ucm/1.tif'];

/** Links each shared file into `dir` under a flat name; returns the link paths. */
export async function linkScenes(dir: string, rels: string[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (const rel of rels) {
    const link = join(dir, rel.replace(/\//g, '_'));
    await symlink(join(SHARED, rel), link);
    out.push(link);
  }
  return out;
}

/** A file with a raster extension that is not a raster (generated, not real data). */
export async function garbageRaster(path: string): Promise<void> {
  await writeFile(path, Buffer.from('II*\0this is not a TIFF, only its first four bytes are'));
}

export async function installPack(dataDir: string, fixture = 'tiny-gelu', id = 'tiny'): Promise<void> {
  await mkdir(join(dataDir, 'models'), { recursive: true });
  await cp(join(PACKS, fixture), join(dataDir, 'models', id), { recursive: true });
}

export interface ExpectedChip {
  level: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

const cache = new Map<string, Promise<ExpectedChip[]>>();

/** The chips a scene should contribute, in plan order (mostly-nodata chips left out). */
export function expectedChips(file: string, size = TINY_IMAGE_SIZE): Promise<ExpectedChip[]> {
  const key = `${file}\0${size}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const scene = await openScene(file);
      try {
        const plan = planChips(scene, { size: 224 });
        const out: ExpectedChip[] = [];
        for await (const { chip } of extractChips(scene, plan, { mapping: bandMapping(scene.description), stats: await sceneStatistics(scene), size })) {
          out.push({ level: Math.log2(chip.scale), ...chip.window });
        }
        return out;
      } finally {
        await scene.close();
      }
    })();
    cache.set(key, p);
  }
  return p;
}

export const chipKey = (c: ExpectedChip): string => `${c.level}:${c.x}:${c.y}:${c.width}:${c.height}`;
