/**
 * The raster engine's public face: open and describe any GeoTIFF/COG/TIFF/JPEG/PNG, its CRS and
 * WGS84 footprint, typed errors for bad input. Nothing outside app/core/raster imports its insides.
 * Rooms: reading/ (TIFF structure, blocks, web images, pixel windows, bands), georef/ (CRS,
 * geotransform, footprints), render/ (tiles, pyramid, tile service and worker, pool), analysis/
 * (statistics, chips, folder scans); scene.ts opens a scene (docs/raster.md).
 */
export { openScene, describeScene } from './scene.js';
export type { Scene, SceneDescription, SceneLevel, Overview, Georeference, SampleType, ColorInterpretation } from './scene.js';
export type { CrsInfo } from './georef/crs.js';
export type { Footprint } from './georef/footprint.js';
export type { GeoTransform } from './georef/geotransform.js';
export { RasterError, type RasterProblem } from './errors.js';
export { scanFolder, RASTER_EXTENSIONS, type FolderScan } from './analysis/scan.js';
export { readWindow, type PixelWindow, type WindowRequest } from './reading/pixels.js';
export type { Samples, PixelRect } from './reading/blocks.js';
export { sceneStatistics, statisticsLevel, type SceneStatistics, type BandStatistics, type StatisticsOptions } from './analysis/stats.js';
export { bandMapping, type BandMapping } from './reading/bands.js';
export { planChips, chipAt, readChipPixels, chipToRgb, extractChips, chipModelInput, type Chip, type ChipPlanOptions, type RgbChip, type RgbOptions, type ExtractOptions, type Preprocess } from './analysis/chips.js';
export { tileBounds, tileResolution, tileLevel, tilePixelRatio, tileSourceCoordinates, warpTile, stretchTile, tileIntersectsScene, TILE_SIZE, type WarpedTile, type WarpOptions, type TileAddress, type TileSourceOptions } from './render/warp.js';
export { TileService, type TileServiceOptions, type Tile } from './render/tile-service.js';
export { handleTileRequest, encodeTile, type TileRequest, type TileResponse, type TileFormat } from './render/tile-worker.js';
export { LruCache } from './lru.js';
export { rasterCacheStats, type RasterReadCounts } from './reading/pixels.js';
export { buildPyramid, wantsPyramid, hasPyramid, pyramidFactors, sceneFingerprint, PYRAMID_MIN_SIDE, type PyramidOptions, type PyramidInfo, type PyramidScene } from './render/pyramid.js';
