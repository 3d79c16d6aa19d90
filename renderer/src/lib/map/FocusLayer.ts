import L from 'leaflet';
import type { SearchHit } from '@contract/schema';

/** What a FocusLayer tells its owner. */
export interface FocusLayerOptions extends L.LayerOptions {
  /** A chip was outlined: where it is (the owner flies the map there). */
  onfocus?: (bounds: L.LatLngBounds) => void;
}

/** The chip being captioned in the annotation mode, outlined. */
export class FocusLayer extends L.LayerGroup {
  declare options: FocusLayerOptions;

  constructor(options: FocusLayerOptions = {}) {
    super([], options);
  }

  /** Outlines this chip instead of the one before (null, or a chip without a polygon: none). */
  setFocus(chip: SearchHit | null): this {
    this.clearLayers();
    if (!chip?.polygon) return this;
    const shape = L.geoJSON(chip.polygon, { style: { className: 'focus', weight: 3, fillOpacity: 0.05 }, interactive: false });
    this.addLayer(shape);
    this.options.onfocus?.(shape.getBounds());
    return this;
  }
}
