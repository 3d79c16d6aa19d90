/** The map's plain-number helpers: rings across the antimeridian, boxes as drawn, framing clear of the bar and panel, and when to fit. */
import { describe, expect, it } from 'vitest';
import { coveredInsets, framing, isNewResult } from '../../renderer/src/lib/map/framing.js';
import { areaShape, boxCorners, isDrag, unwrapGeometry, unwrapRing } from '../../renderer/src/lib/map/geometry.js';

describe('map geometry', () => {
  it('unwraps a ring across the antimeridian into continuous longitudes, its bulk in [-180, 180]', () => {
    // Fiji-like: the ring jumps from +179 to -179 and back.
    expect(unwrapRing([[178, -17], [-179, -17], [-179, -16], [178, -16], [178, -17]])).toEqual([[178, -17], [181, -17], [181, -16], [178, -16], [178, -17]]);
    // Its first point on the far side of the cut: the whole ring is shifted by a turn, its bulk back in range.
    expect(unwrapRing([[-179, 0], [178, 0], [178, 1], [-179, 1]])).toEqual([[181, 0], [178, 0], [178, 1], [181, 1]]);
    expect(unwrapRing([[-179.5, 0], [179, 0], [179, 1], [178, 1], [-179.5, 0]])).toEqual([[180.5, 0], [179, 0], [179, 1], [178, 1], [180.5, 0]]);
    // A line that winds round the world more than once stays continuous at every step (each crossing adds a turn).
    expect(unwrapRing([[170, 0], [-170, 0], [-60, 0], [60, 0], [170, 0], [-170, 0]]).map(([x]) => x)).toEqual([-190, -170, -60, 60, 170, 190]);
    // A ring that does not cross is left as it is.
    expect(unwrapRing([[10, 0], [20, 0], [20, 10], [10, 0]])).toEqual([[10, 0], [20, 0], [20, 10], [10, 0]]);
  });

  it('unwraps every ring of a Polygon and a MultiPolygon, and leaves other geometries alone', () => {
    const polygon = { type: 'Polygon', coordinates: [[[178, 0], [-179, 0], [-179, 1], [178, 0]]] };
    unwrapGeometry(polygon);
    expect(polygon.coordinates).toEqual([[[178, 0], [181, 0], [181, 1], [178, 0]]]);
    const multi = { type: 'MultiPolygon', coordinates: [[[[178, 0], [-179, 0], [-179, 1], [178, 0]]], [[[0, 0], [1, 0], [1, 1], [0, 0]]]] };
    unwrapGeometry(multi);
    expect(multi.coordinates).toEqual([[[[178, 0], [181, 0], [181, 1], [178, 0]]], [[[0, 0], [1, 0], [1, 1], [0, 0]]]]);
    const line = { type: 'LineString', coordinates: [[179, 0], [-179, 0]] };
    unwrapGeometry(line);
    expect(line.coordinates).toEqual([[179, 0], [-179, 0]]);
  });

  it('draws a box across the antimeridian as one box, its east edge past +180, corners in [lat, lon]', () => {
    expect(boxCorners([170, -5, -170, 5])).toEqual([[-5, 170], [5, 190]]);
    expect(boxCorners([10, 20, 30, 40])).toEqual([[20, 10], [40, 30]]);
    expect(areaShape({ kind: 'box', box: [170, -5, -170, 5] })).toEqual({ kind: 'box', corners: [[-5, 170], [5, 190]] });
    expect(areaShape({ kind: 'polygon', ring: [[1, 2], [3, 4], [5, 6], [1, 2]] })).toEqual({ kind: 'polygon', ring: [[2, 1], [4, 3], [6, 5], [2, 1]] });
  });

  it('tells a drag from a click by a few pixels each way', () => {
    expect(isDrag({ x: 0, y: 0 }, { x: 10, y: 10 })).toBe(true);
    expect(isDrag({ x: 0, y: 0 }, { x: 4, y: 10 })).toBe(false);
    expect(isDrag({ x: 0, y: 0 }, { x: 10, y: 3 })).toBe(false);
  });
});

describe('map framing', () => {
  const map = { left: 0, top: 0, right: 1280, bottom: 720 };
  // The search bar 12 px from the top left, the panel 12 px from the top right, each keeping that gap on its inner side too.
  const bar = { left: 12, top: 12, right: 772, bottom: 88 };
  const panel = { left: 874, top: 12, right: 1268, bottom: 692 };

  it('measures the edges under the search bar and the side panel, with the gap each keeps from the edge', () => {
    expect(coveredInsets(map, { top: bar, right: panel })).toEqual({ top: 100, right: 418 });
    expect(coveredInsets(map, { top: bar, right: null })).toEqual({ top: 100, right: 0 });
    expect(coveredInsets(map, {})).toEqual({ top: 0, right: 0 });
    // A map that does not start at the window's corner: measured from its own edges.
    const offset = { left: 100, top: 50, right: 1380, bottom: 770 };
    expect(coveredInsets(offset, { top: { left: 112, top: 62, right: 872, bottom: 138 }, right: { left: 974, top: 62, right: 1368, bottom: 742 } })).toEqual({ top: 100, right: 418 });
  });

  it('pads fitBounds to frame things inside the uncovered part', () => {
    expect(framing({ top: 100, right: 418 }, 60)).toEqual({ paddingTopLeft: [60, 160], paddingBottomRight: [478, 60] });
    expect(framing({ top: 0, right: 0 }, 40)).toEqual({ paddingTopLeft: [40, 40], paddingBottomRight: [40, 40] });
  });

  it('fits only to a new result set: the same one under another cut-off keeps the view', () => {
    const first = { hits: [] };
    expect(isNewResult(null, first)).toBe(true);
    expect(isNewResult(first, first)).toBe(false);
    expect(isNewResult(first, { hits: [] })).toBe(true);
    expect(isNewResult(first, undefined)).toBe(false);
    expect(isNewResult(null, null)).toBe(false);
  });
});
