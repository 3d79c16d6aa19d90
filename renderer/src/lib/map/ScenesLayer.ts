import L from 'leaflet';
import type { SceneInfo } from '@contract/schema';

/** Where a ScenesLayer gets each scene's pixels. */
export interface ScenesLayerOptions extends L.LayerOptions {
  /** The tile URL template of a scene's own pixels (the tile service). */
  tileUrl: (sceneId: string) => string;
}

/**
 * The archives' scenes: each scene's footprint, dashed, and its own pixels from the tile service
 * within it. Scenes that are not readable ('ok') or have no footprint are left out.
 */
export class ScenesLayer extends L.LayerGroup {
  declare options: ScenesLayerOptions;
  #outlines = L.featureGroup();

  constructor(options: ScenesLayerOptions) {
    super([], options);
  }

  /** Shows these scenes instead of the ones before. */
  setScenes(scenes: readonly SceneInfo[]): this {
    this.clearLayers();
    this.#outlines = L.featureGroup();
    for (const scene of scenes) {
      if (!scene.footprint || scene.status !== 'ok') continue;
      const outline = L.geoJSON(scene.footprint, { style: { className: 'footprint', weight: 1, fill: false }, interactive: false });
      const bounds = outline.getBounds();
      this.addLayer(L.tileLayer(this.options.tileUrl(scene.id), { bounds, maxNativeZoom: 18, maxZoom: 22, className: 'scene-tiles' }));
      this.addLayer(outline);
      this.#outlines.addLayer(outline);
    }
    return this;
  }

  /** The bounds of every footprint shown, or null when none is. */
  footprintBounds(): L.LatLngBounds | null {
    return this.#outlines.getLayers().length ? this.#outlines.getBounds() : null;
  }
}
