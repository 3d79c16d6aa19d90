import L from 'leaflet';
import type { SearchHit } from '@contract/schema';

/** What a HitsLayer tells its owner. */
export interface HitsLayerOptions extends L.LayerOptions {
  /** The pointer went onto a hit (its rank), or off it (null). */
  onhover?: (rank: number | null) => void;
  /** A hit was clicked. */
  onselect?: (hit: SearchHit) => void;
}

const HIT_STYLE: L.PathOptions = { className: 'hit', weight: 2, fillOpacity: 0.08 };
const HIGHLIGHT_STYLE: L.PathOptions = { ...HIT_STYLE, weight: 4, fillOpacity: 0.3 };

/**
 * The search hits shown (those above the score cut-off), each outlined with its rank; the one under
 * the pointer (in the list or on the map) stands out. Replacing the hits never moves the map: framing
 * them is the owner's call (`getBounds`, `boundsOf`).
 */
export class HitsLayer extends L.FeatureGroup {
  declare options: HitsLayerOptions;
  /** Shapes by rank: what highlighting and flying to a hit look up. */
  readonly #shapes = new Map<number, L.GeoJSON>();
  #highlighted: number | null = null;

  constructor(options: HitsLayerOptions = {}) {
    super([], options);
  }

  /** Shows these hits instead of the ones before. */
  setHits(hits: readonly SearchHit[]): this {
    this.clearLayers();
    this.#shapes.clear();
    // Drawn worst first, so that where labels overlap (a zoomed-out map), the best rank is on top.
    for (const hit of [...hits].reverse()) {
      if (!hit.polygon) continue;
      const shape = L.geoJSON(hit.polygon, { style: hit.rank === this.#highlighted ? HIGHLIGHT_STYLE : HIT_STYLE });
      shape.bindTooltip(`#${hit.rank}`, { permanent: true, direction: 'center', className: 'rank' });
      shape.on('mouseover', () => this.options.onhover?.(hit.rank));
      shape.on('mouseout', () => this.options.onhover?.(null));
      shape.on('click', () => this.options.onselect?.(hit));
      this.addLayer(shape);
      this.#shapes.set(hit.rank, shape);
    }
    return this;
  }

  /** Makes the hit of this rank stand out (null: none). */
  highlight(rank: number | null): this {
    this.#highlighted = rank;
    for (const [r, shape] of this.#shapes) shape.setStyle(r === rank ? HIGHLIGHT_STYLE : HIT_STYLE);
    return this;
  }

  /** Whether any hit is drawn. */
  isEmpty(): boolean {
    return this.#shapes.size === 0;
  }

  /** The bounds of the hit of this rank, if it is drawn. */
  boundsOf(rank: number): L.LatLngBounds | undefined {
    return this.#shapes.get(rank)?.getBounds();
  }
}
