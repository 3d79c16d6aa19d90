/**
 * Checks a vector store against the catalog and the chips each scene should yield: every slot's rows
 * are exactly the first `rows` expected chips of its scene in plan order (all of them when the
 * scene is complete): no duplicate, none missing, none foreign; the slots account for every row.
 */
import { expect } from 'vitest';
import type { SceneRecord } from '../../../app/core/catalog/index.js';
import { isIndexMeta } from '../../../app/core/jobs/index.js';
import { VectorStore } from '../../../app/core/vectors/index.js';
import { chipKey, expectedChips } from './fixture.js';

export interface StoreCheck {
  rows: number;
  complete: number;
  partial: number;
  /** Rows per scene path, live slots only. */
  byPath: Map<string, number>;
}

export async function checkStore(dir: string, scenes: SceneRecord[], dim = 16, label = ''): Promise<StoreCheck> {
  const store = await VectorStore.open(dir, dim, { readOnly: true });
  try {
    const meta = store.meta;
    if (!isIndexMeta(meta)) throw new Error(`${label}: the store has no index record`);
    const bySlot = new Map<number, string[]>();
    for (let r = 0; r < store.count; r++) {
      const c = await store.chip(r);
      expect(c.scene, `${label}: row ${r} names slot ${c.scene}`).toBeLessThan(meta.slots.length);
      const list = bySlot.get(c.scene) ?? [];
      list.push(chipKey({ level: c.level, x: c.x, y: c.y, width: c.width, height: c.height }));
      bySlot.set(c.scene, list);
    }
    const byId = new Map(scenes.map((s) => [s.id, s]));
    const out: StoreCheck = { rows: store.count, complete: 0, partial: 0, byPath: new Map() };
    let accounted = 0;
    for (const [i, slot] of meta.slots.entries()) {
      const rows = bySlot.get(i) ?? [];
      expect(rows.length, `${label}: slot ${i} counts ${slot.rows} rows, the table has ${rows.length}`).toBe(slot.rows);
      accounted += rows.length;
      if (slot.state === 'removed' || slot.state === 'failed') continue;
      const scene = byId.get(slot.sceneId);
      if (!scene) throw new Error(`${label}: slot ${i} names scene ${slot.sceneId}, which the catalog does not have`);
      const want = (await expectedChips(scene.path)).map(chipKey);
      expect(new Set(rows).size, `${label}: duplicate chips in ${scene.path}`).toBe(rows.length);
      if (slot.state === 'complete') {
        expect(rows, `${label}: ${scene.path} complete`).toEqual(want);
        out.complete++;
      } else {
        expect(rows, `${label}: ${scene.path} partial`).toEqual(want.slice(0, rows.length));
        out.partial++;
      }
      out.byPath.set(scene.path, rows.length);
    }
    expect(accounted, `${label}: rows outside any slot`).toBe(store.count);
    return out;
  } finally {
    await store.close();
  }
}
