import L from 'leaflet';
import { areaOf, type Area } from '../area';
import { isDrag } from './geometry';

/** What a BoxTool tells its owner. */
export interface BoxToolOptions extends L.LayerOptions {
  /** A box was dragged out: the search area it makes (null: one that spans the whole world). */
  onarea: (area: Area | null) => void;
  /** Drawing is over (a box dragged out, a click without a drag, or Escape): the owner removes the tool. */
  ondone: () => void;
}

/**
 * Dragging out a search box: while the tool is on the map, the map holds still, a rectangle follows
 * the pointer from where the button went down, and Escape gives up. A click without a drag draws nothing.
 */
export class BoxTool extends L.Layer {
  declare options: BoxToolOptions;
  #start: L.LatLng | null = null;
  #box: L.Rectangle | null = null;
  readonly #handlers = {
    mousedown: (e: L.LeafletMouseEvent): void => this.#down(e),
    mousemove: (e: L.LeafletMouseEvent): void => {
      if (this.#start && this.#box) this.#box.setBounds(L.latLngBounds(this.#start, e.latlng));
    },
    mouseup: (e: L.LeafletMouseEvent): void => this.#up(e),
  };
  readonly #key = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') this.options.ondone();
  };

  constructor(options: BoxToolOptions) {
    super();
    // As Leaflet's own layers do in `initialize` (L.Layer's constructor keeps no options of its own).
    L.Util.setOptions(this, options);
  }

  override onAdd(map: L.Map): this {
    map.dragging.disable();
    map.boxZoom.disable();
    map.getContainer().classList.add('drawing');
    map.on(this.#handlers);
    window.addEventListener('keydown', this.#key);
    return this;
  }

  override onRemove(map: L.Map): this {
    map.off(this.#handlers);
    window.removeEventListener('keydown', this.#key);
    this.#box?.remove();
    this.#start = null;
    this.#box = null;
    map.dragging.enable();
    map.boxZoom.enable();
    map.getContainer().classList.remove('drawing');
    return this;
  }

  #down(e: L.LeafletMouseEvent): void {
    this.#start = e.latlng;
    this.#box = L.rectangle(L.latLngBounds(e.latlng, e.latlng), { className: 'area', weight: 2, fillOpacity: 0.08, interactive: false }).addTo(this._map);
  }

  #up(e: L.LeafletMouseEvent): void {
    const start = this.#start;
    if (!start) return;
    const bounds = L.latLngBounds(start, e.latlng);
    const map = this._map;
    this.#box?.remove();
    this.#start = null;
    this.#box = null;
    this.options.ondone();
    const a = map.latLngToContainerPoint(bounds.getNorthWest());
    const b = map.latLngToContainerPoint(bounds.getSouthEast());
    if (isDrag(a, b)) this.options.onarea(areaOf(bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()));
  }
}
