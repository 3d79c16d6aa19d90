import L from 'leaflet';
import type { Area } from '../area';
import { areaShape } from './geometry';

/** How an AreaLayer draws the search area. */
export interface AreaLayerOptions extends L.LayerOptions {
  /** The outline's style (a dashed `area` class by default). */
  style?: L.PolylineOptions;
}

const AREA_STYLE: L.PolylineOptions = { className: 'area', weight: 2, fill: true, fillOpacity: 0.04, interactive: false };

/** The search area (a filter of every search): a dashed box (two sides of the antimeridian are one box) or polygon. */
export class AreaLayer extends L.LayerGroup {
  declare options: AreaLayerOptions;

  constructor(options: AreaLayerOptions = {}) {
    super([], { style: AREA_STYLE, ...options });
  }

  /** Shows this area instead of the one before (null: none). */
  setArea(area: Area | null): this {
    this.clearLayers();
    if (!area) return this;
    const shape = areaShape(area);
    const style = this.options.style ?? AREA_STYLE;
    this.addLayer(shape.kind === 'polygon' ? L.polygon(shape.ring, style) : L.rectangle(shape.corners, style));
    return this;
  }
}
