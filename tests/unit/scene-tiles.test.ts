/** Scenes are registered for tiles on their first request, once per version; a rescan forgets changed ones. */
import { describe, expect, it } from 'vitest';
import type { Catalog, SceneRecord } from '../../app/core/catalog/index.js';
import type { TileService } from '../../app/core/raster/index.js';
import { SceneTiles } from '../../app/core/scene-tiles.js';

function scene(id: string, hash: string, georeferenced = true): SceneRecord {
  return {
    id,
    archiveId: 'a1',
    path: `/imagery/${id}.tif`,
    fingerprint: { size: 1, mtimeMs: 1, hash },
    status: 'ok',
    summary: { georeferenced } as SceneRecord['summary'],
    error: null,
    scannedAt: '2025-01-01T00:00:00Z',
  };
}

/** A tile service that counts registrations and fails the files named. */
function fakes(scenes: SceneRecord[], failing = new Set<string>()): { sceneTiles: SceneTiles; reads: string[]; served: Set<string> } {
  const reads: string[] = [];
  const served = new Set<string>();
  const tiles = {
    register: async (file: string, { id }: { id: string }) => {
      reads.push(file);
      if (failing.has(file)) throw new Error('unreadable');
      served.add(id);
      return id;
    },
    unregister: (id: string) => served.delete(id),
    scene: (id: string) => (served.has(id) ? {} : undefined),
  } as unknown as TileService;
  const catalog = { archives: () => [{ id: 'a1' }], scenes: async () => scenes } as unknown as Catalog;
  return { sceneTiles: new SceneTiles(tiles, catalog), reads, served };
}

describe('scene tiles', () => {
  it('reads a scene once on its first tiles, however many arrive at once, and never one off the map', async () => {
    const { sceneTiles, reads, served } = fakes([scene('s1', 'h1'), scene('s2', 'h2', false)]);
    expect(reads).toEqual([]);
    await Promise.all([sceneTiles.ensureId('s1'), sceneTiles.ensureId('s1'), sceneTiles.ensureId('s2'), sceneTiles.ensureId('nope')]);
    await sceneTiles.ensure(scene('s1', 'h1'));
    expect(reads).toEqual(['/imagery/s1.tif']);
    expect([...served]).toEqual(['s1']);
  });

  it('does not read a broken scene again per tile, but again after a rescan', async () => {
    const { sceneTiles, reads, served } = fakes([scene('s1', 'h1')], new Set(['/imagery/s1.tif']));
    await sceneTiles.ensureId('s1');
    await sceneTiles.ensureId('s1');
    expect(reads).toHaveLength(1);
    expect(served.size).toBe(0);
    await sceneTiles.forgetChanged('a1');
    await sceneTiles.ensureId('s1');
    expect(reads).toHaveLength(2);
  });

  it('after a rescan, serves a changed scene afresh and an unchanged one as it was', async () => {
    const scenes = [scene('s1', 'h1'), scene('s2', 'h2')];
    const { sceneTiles, reads, served } = fakes(scenes);
    await Promise.all([sceneTiles.ensureId('s1'), sceneTiles.ensureId('s2')]);
    scenes[0] = scene('s1', 'h1-changed');
    scenes[1] = scene('s2', 'h2');
    await sceneTiles.forgetChanged('a1');
    expect([...served]).toEqual(['s2']);
    await Promise.all([sceneTiles.ensureId('s1'), sceneTiles.ensureId('s2')]);
    expect(reads).toEqual(['/imagery/s1.tif', '/imagery/s2.tif', '/imagery/s1.tif']);
  });
});
