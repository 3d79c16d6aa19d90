import { KestrelError, type ErrorCode } from '../../contract/index.js';

/**
 * Why a raster could not be read, in the user's words. Every failure names the file; a folder scan
 * records the error against that file and goes on with the next one.
 */
export type RasterProblem =
  | 'unreadable'
  | 'not_tiff'
  | 'truncated'
  | 'corrupt_ifd'
  | 'unsupported_compression'
  | 'unsupported_type'
  | 'absurd_dimensions'
  | 'no_georeference'
  | 'unknown_crs';

const CODE: Record<RasterProblem, ErrorCode> = {
  unreadable: 'io_error',
  not_tiff: 'corrupt_file',
  truncated: 'corrupt_file',
  corrupt_ifd: 'corrupt_file',
  unsupported_compression: 'unavailable',
  unsupported_type: 'unavailable',
  absurd_dimensions: 'corrupt_file',
  no_georeference: 'invalid_input',
  unknown_crs: 'unavailable',
};

const HINT: Record<RasterProblem, string> = {
  unreadable: 'Check that the file exists and that Kestrel may read it.',
  not_tiff: 'Only GeoTIFF/COG, TIFF, JPEG and PNG files are scenes; rename or remove this file.',
  truncated: 'The file was probably cut short while copying or downloading: copy it again.',
  corrupt_ifd: 'The TIFF structure is damaged: copy the file again or rebuild it (e.g. gdal_translate).',
  unsupported_compression: 'Convert the file to a supported compression (e.g. gdal_translate -co COMPRESS=DEFLATE).',
  unsupported_type: 'Convert the file to 8/16-bit integer or 32-bit float samples.',
  absurd_dimensions: 'The header declares an impossible size: the file is damaged.',
  no_georeference: 'The scene has no usable map position; it can still be searched in pixel space.',
  unknown_crs: 'Reproject the file to a standard EPSG coordinate system (e.g. gdalwarp -t_srs EPSG:4326).',
};

/** A typed raster failure: `problem` says why, `file` says where. */
export class RasterError extends KestrelError {
  readonly problem: RasterProblem;

  constructor(problem: RasterProblem, file: string, message: string, hint?: string) {
    super({ code: CODE[problem], message, file, hint: hint ?? HINT[problem] });
    this.problem = problem;
  }
}

export function rasterError(problem: RasterProblem, file: string, message: string, hint?: string): RasterError {
  return new RasterError(problem, file, message, hint);
}
