import L from 'leaflet';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import land110m from 'world-atlas/land-110m.json';
import { unwrapGeometry } from './geometry';

/** Where a LandLayer draws. */
export interface LandLayerOptions extends L.GeoJSONOptions {
  /** The map pane it draws in (one below the scene imagery). */
  pane: string;
}

/**
 * No basemap is fetched (Kestrel works offline): the bundled Natural Earth 1:110m land outline gives
 * a sense of place, its rings unwrapped across the antimeridian.
 */
export class LandLayer extends L.GeoJSON {
  constructor(options: LandLayerOptions) {
    const topology = land110m as unknown as Topology<{ land: GeometryCollection }>;
    const land = feature(topology, topology.objects.land);
    for (const f of land.features) unwrapGeometry(f.geometry);
    // No stroke: polygons cut at the antimeridian would draw their cut edges as lines.
    super(land, { interactive: false, style: { className: 'land', stroke: false }, ...options });
  }
}
