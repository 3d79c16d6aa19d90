import L from 'leaflet';
import type { BasemapInfo } from '@contract/schema';

/** Leaflet's attribution control renders HTML: a basemap's attribution is the file's text, never markup. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The local basemap and where it draws. */
export interface BasemapLayerOptions {
  /** The basemap (basemap.info). */
  basemap: BasemapInfo;
  /** Its tile URL template for this version of it. */
  url: string;
  /** The map pane it draws in (between the land outline and the scenes). */
  pane: string;
}

/** The local basemap's tiles: hidden below its lowest zoom rather than stitched from thousands of tiles. */
export class BasemapLayer extends L.TileLayer {
  constructor({ basemap, url, pane }: BasemapLayerOptions) {
    const b = basemap.bounds;
    super(url, {
      pane,
      className: 'basemap-tiles',
      minZoom: basemap.minZoom,
      maxNativeZoom: basemap.maxZoom,
      maxZoom: 22,
      // Bounds that cross the antimeridian (west > east) are left out: Leaflet cannot express them.
      ...(b && b[0] < b[2] ? { bounds: L.latLngBounds([b[1], b[0]], [b[3], b[2]]) } : {}),
      attribution: basemap.attribution ? escapeHtml(basemap.attribution) : '',
    });
  }
}
