import L from 'leaflet';
import { polygonArea, type Area } from '../area';

/** What a PolygonTool tells its owner. */
export interface PolygonToolOptions extends L.LayerOptions {
  /** A polygon was closed: the search area it makes. */
  onarea: (area: Area) => void;
  /** A polygon was closed that cannot be searched as drawn: why. */
  onproblem: (message: string) => void;
  /** Drawing is over (closed, or Escape): the owner removes the tool. */
  ondone: () => void;
}

/** Pixels within which a corner is the same as the one before (a double click clicks twice). */
const SAME_CORNER_PIXELS = 5;

/**
 * Clicking a search polygon corner by corner (the map still pans between clicks): a rubber band
 * follows the pointer, a double click or Enter closes it, Backspace takes the last corner back,
 * Escape gives up.
 */
export class PolygonTool extends L.Layer {
  declare options: PolygonToolOptions;
  readonly #corners: L.LatLng[] = [];
  readonly #outline = L.polyline([], { className: 'area', weight: 2, interactive: false });
  readonly #rubber = L.polyline([], { className: 'area rubber', weight: 1, interactive: false });
  readonly #handlers = {
    click: (e: L.LeafletMouseEvent): void => this.#click(e.latlng),
    dblclick: (): void => this.#finish(),
    mousemove: (e: L.LeafletMouseEvent): void => this.#redraw(e.latlng),
  };
  readonly #key = (e: KeyboardEvent): void => this.#onKey(e);

  constructor(options: PolygonToolOptions) {
    super();
    // As Leaflet's own layers do in `initialize` (L.Layer's constructor keeps no options of its own).
    L.Util.setOptions(this, options);
  }

  override onAdd(map: L.Map): this {
    map.doubleClickZoom.disable();
    map.getContainer().classList.add('drawing');
    this.#outline.addTo(map);
    this.#rubber.addTo(map);
    map.on(this.#handlers);
    window.addEventListener('keydown', this.#key);
    return this;
  }

  override onRemove(map: L.Map): this {
    map.off(this.#handlers);
    window.removeEventListener('keydown', this.#key);
    this.#outline.remove();
    this.#rubber.remove();
    this.#corners.length = 0;
    map.doubleClickZoom.enable();
    map.getContainer().classList.remove('drawing');
    return this;
  }

  #redraw(pointer?: L.LatLng): void {
    const corners = this.#corners;
    this.#outline.setLatLngs(corners);
    this.#rubber.setLatLngs(pointer && corners.length ? [corners.at(-1)!, pointer, corners[0]!] : []);
  }

  #click(at: L.LatLng): void {
    const last = this.#corners.at(-1);
    const map = this._map;
    if (!last || map.latLngToContainerPoint(last).distanceTo(map.latLngToContainerPoint(at)) >= SAME_CORNER_PIXELS) this.#corners.push(at);
    this.#redraw();
  }

  #finish(): void {
    if (this.#corners.length < 3) return;
    const result = polygonArea(this.#corners);
    this.options.ondone();
    if (typeof result === 'string') this.options.onproblem(result);
    else this.options.onarea(result);
  }

  #onKey(e: KeyboardEvent): void {
    const el = e.target as HTMLElement | null;
    if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) return;
    if (e.key === 'Escape') this.options.ondone();
    else if (e.key === 'Enter') this.#finish();
    else if (e.key === 'Backspace') {
      this.#corners.pop();
      this.#redraw();
    } else return;
    e.preventDefault();
  }
}
