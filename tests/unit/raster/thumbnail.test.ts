/** Chip thumbnails by scene id: rendered in the worker pool, equal to the chip as the model sees it. */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bandMapping, chipAt, chipToRgb, openScene, sceneStatistics, TileService } from '../../../app/core/raster/index.js';
import { geotiff, HAVE_DATA, SKIP_REASON } from './data.js';

describe.skipIf(!HAVE_DATA)(`chip thumbnails ${HAVE_DATA ? '' : SKIP_REASON}`, () => {
  let service: TileService;
  let id: string;
  const file = geotiff('RGB.byte.tif');

  beforeAll(async () => {
    service = new TileService({ workers: 1, format: 'png' });
    id = await service.register(file);
  });
  afterAll(() => service?.close());

  it('renders a window at thumbnail size, pixel for pixel the chip RGB (lossless PNG)', async () => {
    const window = { x: 200, y: 300, width: 448, height: 448 };
    const thumb = await service.thumbnail(id, window, 96);
    expect(thumb?.type).toBe('image/png');
    const { data, info } = await sharp(thumb!.body).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([96, 96]);
    const scene = await openScene(file);
    const rgb = await chipToRgb(scene, chipAt(scene, window, 96), { mapping: bandMapping(scene.description), stats: await sceneStatistics(scene), size: 96 });
    await scene.close();
    for (let i = 0; i < 96 * 96; i++) {
      for (let c = 0; c < 3; c++) expect(data[i * info.channels + c], `pixel ${i} channel ${c}`).toBe(rgb.data[3 * i + c]);
    }
  });

  it('reads the coarsest level that has the resolution a thumbnail needs', async () => {
    const scene = await openScene(geotiff('cogeo.tif'));
    const full = chipAt(scene, { x: 0, y: 0, width: 4096, height: 4096 }, 128);
    expect(full.level).toBeGreaterThan(0);
    expect(scene.levels[full.level]!.scaleX).toBeLessThanOrEqual(4096 / 128);
    await scene.close();
  });

  it('answers undefined for an unknown scene id', async () => {
    expect(await service.thumbnail('no-such-scene', { x: 0, y: 0, width: 10, height: 10 })).toBeUndefined();
  });
});
