/**
 * The raster engine's public face: open and describe any GeoTIFF/COG/TIFF/JPEG/PNG, its CRS and
 * WGS84 footprint, typed errors for bad input. Nothing outside app/core/raster imports its insides.
 */
export { openScene, describeScene } from './scene.js';
export type { Scene, SceneDescription, SceneLevel, Overview, Georeference, SampleType, ColorInterpretation } from './scene.js';
export type { CrsInfo } from './crs.js';
export type { Footprint } from './footprint.js';
export type { GeoTransform } from './geotransform.js';
export { RasterError, type RasterProblem } from './errors.js';
export { scanFolder, RASTER_EXTENSIONS, type FolderScan } from './scan.js';
export { readWindow, type PixelWindow } from './pixels.js';
export type { Samples } from './blocks.js';
export { sceneStatistics, statisticsLevel, type SceneStatistics, type BandStatistics, type StatisticsOptions } from './stats.js';
export { bandMapping, type BandMapping } from './bands.js';
export { planChips, chipAt, readChipPixels, chipToRgb, extractChips, chipModelInput, type Chip, type ChipPlanOptions, type PixelRect, type RgbChip, type ExtractOptions, type Preprocess } from './chips.js';
export { tileBounds, tileResolution, tileLevel, tilePixelRatio, tileSourceCoordinates, warpTile, stretchTile, tileIntersectsScene, TILE_SIZE, type WarpedTile } from './render.js';
export { TileService, type TileServiceOptions, type Tile } from './tile-service.js';
export { handleTileRequest, encodeTile, type TileRequest, type TileResponse, type TileFormat } from './tile-worker.js';
export { LruCache } from './lru.js';
export { rasterCacheStats, type RasterReadCounts } from './pixels.js';
export { buildPyramid, wantsPyramid, hasPyramid, pyramidFactors, sceneFingerprint, PYRAMID_MIN_SIDE, type PyramidOptions, type PyramidInfo, type PyramidScene } from './pyramid.js';
