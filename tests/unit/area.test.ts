/** The renderer's search areas: map boxes and clicked polygons as search.query filters. */
import { describe, expect, it } from 'vitest';
import { areaFilter, areaOf, describeArea, polygonArea } from '../../renderer/src/lib/area.js';

describe('search areas', () => {
  it('wraps a box panned around the world back into [-180, 180], and a box that spans the world is none', () => {
    expect(areaOf(370, 10, 380, 20)).toEqual({ kind: 'box', box: [10, 10, 20, 20] });
    // Across the antimeridian: west > east, as the contract's bbox expects.
    expect(areaOf(170, -5, 190, 5)).toEqual({ kind: 'box', box: [170, -5, -170, 5] });
    expect(areaOf(170, -5, 180, 5)).toEqual({ kind: 'box', box: [170, -5, 180, 5] });
    expect(areaOf(-200, -10, 170, 10)).toBeNull();
    expect(areaOf(0, -100, 10, 100)).toEqual({ kind: 'box', box: [0, -90, 10, 90] });
  });

  it('closes a clicked polygon, shifts it by whole turns into range, and refuses one across the antimeridian', () => {
    const area = polygonArea([
      { lat: 1, lng: 361 },
      { lat: 2, lng: 365 },
      { lat: 5, lng: 362 },
    ]);
    expect(area).toEqual({ kind: 'polygon', ring: [[1, 1], [5, 2], [2, 5], [1, 1]] });
    expect(areaFilter(area as never)).toEqual({ polygon: { type: 'Polygon', coordinates: [[[1, 1], [5, 2], [2, 5], [1, 1]]] } });
    expect(describeArea(area as never)).toBe('polygon of 3 corners');
    expect(polygonArea([{ lat: 0, lng: 170 }, { lat: 1, lng: 190 }, { lat: 2, lng: 175 }])).toMatch(/crosses the antimeridian/);
    expect(polygonArea([{ lat: 0, lng: 0 }, { lat: 1, lng: 1 }])).toMatch(/at least three corners/);
  });

  it('turns a box into the bbox filter and says it in words', () => {
    const box = areaOf(-50.74, -18.79, -50.67, -18.7)!;
    expect(areaFilter(box)).toEqual({ bbox: [-50.74, -18.79, -50.67, -18.7] });
    expect(describeArea(box)).toBe('-18.79…-18.70° N, -50.74…-50.67° E');
  });
});
