/**
 * Where the map frames things, and when: the part of the map not under the search bar and the side
 * panel, measured from the elements themselves (no layout numbers here), and the rule that the map
 * fits to the hits only when a new result set arrives. No Leaflet and no DOM: rectangles are plain numbers.
 */

/** A rectangle on screen, as getBoundingClientRect gives it. */
export interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Pixels covered at the map's top (by the search bar) and right (by the side panel). */
export interface Insets {
  top: number;
  right: number;
}

/** What covers the map: the bar across its top and the panel down its right side, either absent. */
export interface Covers {
  top?: Rect | null;
  right?: Rect | null;
}

/**
 * The map's edges covered by the search bar and the side panel. Each covers its own extent plus, on
 * its inner side, the same gap it keeps from the map's edge, so that what is framed keeps clear of it
 * as the element keeps clear of the edge.
 */
export function coveredInsets(map: Rect, covers: Covers): Insets {
  const { top: bar, right: panel } = covers;
  const top = bar ? bar.bottom - map.top + Math.max(0, bar.top - map.top) : 0;
  const right = panel ? map.right - panel.left + Math.max(0, map.right - panel.right) : 0;
  return { top: Math.max(0, top), right: Math.max(0, right) };
}

/** Leaflet's fitBounds padding that frames things `pad` pixels inside the uncovered part of the map. */
export function framing(insets: Insets, pad: number): { paddingTopLeft: [number, number]; paddingBottomRight: [number, number] } {
  return { paddingTopLeft: [pad, pad + insets.top], paddingBottomRight: [pad + insets.right, pad] };
}

/**
 * Whether the hits come from a result set the map has not fitted to yet: a new search (a new result's
 * identity) fits the map; the same result shown with another score cut-off never does, so the user's
 * view is kept.
 */
export function isNewResult(fitted: unknown, result: unknown): boolean {
  return result !== undefined && result !== null && result !== fitted;
}
