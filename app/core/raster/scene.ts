import { basename } from 'node:path';
import { fromArrayBuffer, writeArrayBuffer, type GeoTIFFImage } from 'geotiff';
import sharp from 'sharp';
import { crsFromGeoKeys, toWgs84, withGridFallback, type CrsInfo, type GeoKeys, type LonLatTransform } from './georef/crs.js';
import { rasterError } from './errors.js';
import { footprint, type Footprint, type PixelToLonLat } from './georef/footprint.js';
import { applyGeoTransform, fitGcps, type GeoTransform } from './georef/geotransform.js';
import { COMPRESSIONS, openTiff, readHead, sniff, type OpenedTiff, type TiffIfd } from './reading/tiff.js';
import { describeWebImage } from './reading/webimage.js';

export type SampleType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
export type ColorInterpretation =
  | 'gray' | 'red' | 'green' | 'blue' | 'alpha' | 'palette' | 'cyan' | 'magenta' | 'yellow' | 'black' | 'undefined';

export interface Overview {
  /** 1, 2, … from finest to coarsest overview (level 0 is the full-resolution image). */
  level: number;
  width: number;
  height: number;
}

export interface Georeference {
  kind: 'geotransform' | 'gcps';
  /** GDAL order, rotation terms included; for GCP-only rasters the least-squares affine fit. */
  geoTransform: GeoTransform;
  /** GCP-only rasters: how many GCPs and how well the affine fit matches them. */
  gcps?: { count: number; rmsPixels: number };
}

/** Everything Kestrel knows about a scene without reading its pixels. */
export interface SceneDescription {
  file: string;
  name: string;
  format: 'geotiff' | 'tiff' | 'jpeg' | 'png';
  fileSize: number;
  width: number;
  height: number;
  bands: number;
  dtype: SampleType;
  colorInterpretation: ColorInterpretation[];
  /** GDAL_NODATA value, when the file declares one. */
  nodata: number | null;
  /** Which pixels are invalid: an alpha band, an internal mask (TIFF transparency mask), nodata, or none. */
  mask: 'alpha' | 'internal' | 'nodata' | 'none';
  /** 0-based index of the alpha band, when there is one. */
  alphaBand: number | null;
  overviews: Overview[];
  tiling: { tiled: boolean; blockWidth: number; blockHeight: number };
  /** Tiled, directories before data, with overviews (or small enough to need none). */
  cog: boolean;
  compression: string;
  interleave: 'pixel' | 'band';
  crs: CrsInfo | null;
  georeferenced: boolean;
  georeference: Georeference | null;
  /** WGS84 outline (GeoJSON geometry); null for pixel-space scenes. */
  footprint: Footprint | null;
  /** Plain-language remarks: why a scene is pixel-space, datum accuracy, GCP fit quality. */
  notes: string[];
}

/** One resolution level of a scene: level 0 is full resolution, 1… the overviews. */
export interface SceneLevel {
  level: number;
  width: number;
  height: number;
  image: GeoTIFFImage;
  /** The matching transparency-mask image, when the file has internal masks. */
  mask: GeoTIFFImage | null;
  /** Full-resolution pixels per pixel of this level, in x and y. */
  scaleX: number;
  scaleY: number;
}

/** An open scene: its description plus what the readers need (levels, pixel ↔ WGS84 transforms). */
export interface Scene {
  description: SceneDescription;
  levels: SceneLevel[];
  /** CRS ↔ WGS84, when georeferenced. */
  lonLat: LonLatTransform | null;
  /** Full-resolution pixel (col, row) → WGS84 [lon, lat], when georeferenced. */
  toLonLat: PixelToLonLat | null;
  close(): Promise<void>;
}

function sampleType(image: GeoTIFFImage, file: string): SampleType {
  const format = image.getSampleFormat(0);
  const bits = image.getBitsPerSample(0);
  const spp = image.getSamplesPerPixel();
  for (let i = 1; i < spp; i++) {
    if (image.getBitsPerSample(i) !== bits || image.getSampleFormat(i) !== format) {
      throw rasterError('unsupported_type', file, `${file} mixes sample types between bands, which Kestrel does not read.`);
    }
  }
  const key = `${format}:${bits}`;
  const types: Record<string, SampleType> = {
    '1:8': 'uint8', '2:8': 'int8', '1:16': 'uint16', '2:16': 'int16', '1:32': 'uint32', '2:32': 'int32', '3:32': 'float32', '3:64': 'float64',
  };
  const t = types[key];
  if (!t) throw rasterError('unsupported_type', file, `${file} has ${bits}-bit ${format === 3 ? 'float' : format === 2 ? 'signed' : 'unsigned'} samples, which Kestrel does not read.`);
  return t;
}

const GDAL_COLOR: Record<string, ColorInterpretation> = {
  gray: 'gray', grey: 'gray', red: 'red', green: 'green', blue: 'blue', alpha: 'alpha', palette: 'palette',
  cyan: 'cyan', magenta: 'magenta', yellow: 'yellow', black: 'black', undefined: 'undefined',
};

async function colorInterpretation(image: GeoTIFFImage): Promise<ColorInterpretation[]> {
  const fd = image.fileDirectory;
  const spp = image.getSamplesPerPixel();
  const photometric = Number(fd.getValue('PhotometricInterpretation') ?? 1);
  const rawExtra = fd.getValue('ExtraSamples') as unknown;
  const extra: number[] = rawExtra === undefined ? [] : typeof rawExtra === 'number' ? [rawExtra] : Array.from(rawExtra as ArrayLike<number>);
  const base: ColorInterpretation[] =
    photometric === 2 || photometric === 6 ? ['red', 'green', 'blue']
      : photometric === 3 ? ['palette']
        : photometric === 5 ? ['cyan', 'magenta', 'yellow', 'black']
          : ['gray'];
  const out: ColorInterpretation[] = [];
  for (let i = 0; i < spp; i++) {
    const e = extra[i - (spp - extra.length)];
    out.push(i < base.length && i < spp - extra.length ? base[i]! : e === 1 || e === 2 ? 'alpha' : 'undefined');
  }
  // GDAL records explicit colour interpretations (e.g. BGRA band order) in its metadata tag.
  for (let i = 0; i < spp; i++) {
    const md = await image.getGDALMetadata(i).catch(() => null);
    const ci = typeof md?.COLORINTERP === 'string' ? GDAL_COLOR[md.COLORINTERP.toLowerCase()] : undefined;
    if (ci) out[i] = ci;
  }
  return out;
}

function geoTransformOf(image: GeoTIFFImage, keys: GeoKeys | null): GeoTransform | null {
  const fd = image.fileDirectory;
  const m = fd.getValue('ModelTransformation') as ArrayLike<number> | undefined;
  let gt: GeoTransform | null = null;
  if (m && m.length >= 16) {
    gt = [m[3]!, m[0]!, m[1]!, m[7]!, m[4]!, m[5]!];
  } else {
    const tp = fd.getValue('ModelTiepoint') as ArrayLike<number> | undefined;
    const ps = fd.getValue('ModelPixelScale') as ArrayLike<number> | undefined;
    if (tp && tp.length >= 6 && ps && ps.length >= 2) {
      const [i, j, , x, y] = [tp[0]!, tp[1]!, tp[2]!, tp[3]!, tp[4]!];
      gt = [x - i * ps[0]!, ps[0]!, 0, y + j * ps[1]!, 0, -ps[1]!];
    }
  }
  // PixelIsPoint: the tie point names a pixel centre; shift to the corner convention, as GDAL does.
  if (gt && keys && keys.GTRasterTypeGeoKey === 2) {
    gt = [gt[0] - 0.5 * gt[1] - 0.5 * gt[2], gt[1], gt[2], gt[3] - 0.5 * gt[4] - 0.5 * gt[5], gt[4], gt[5]];
  }
  return gt;
}

async function gcpsOf(image: GeoTIFFImage): Promise<{ col: number; row: number; x: number; y: number }[]> {
  const fd = image.fileDirectory;
  if (fd.hasTag('ModelPixelScale') || fd.hasTag('ModelTransformation')) return [];
  const tps = await image.getTiePoints();
  return tps.length > 1 ? tps.map((t) => ({ col: t.i, row: t.j, x: t.x, y: t.y })) : [];
}

function isCog(opened: OpenedTiff, main: TiffIfd, overviews: TiffIfd[]): boolean {
  if (!main.image.isTiled) return false;
  const firstData = Math.min(...opened.ifds.map((d) => d.firstDataOffset));
  const headersFirst = opened.ifds.every((d) => d.offset < firstData);
  return headersFirst && (overviews.length > 0 || Math.max(main.width, main.height) <= 512);
}

const MAX_GCP_RMS_PIXELS = 2;

/** The full-resolution IFD, its overviews (finest first) and the levels they make, masks matched by size. */
function levelsOf(opened: OpenedTiff): { main: TiffIfd; overviewIfds: TiffIfd[]; levels: SceneLevel[] } {
  const main = opened.ifds.find((d) => (d.subfileType & 5) === 0) ?? opened.ifds[0]!;
  const spp = main.image.getSamplesPerPixel();
  const overviewIfds = opened.ifds
    .filter((d) => d !== main && (d.subfileType & 1) === 1 && (d.subfileType & 4) === 0 && d.image.getSamplesPerPixel() === spp)
    .sort((a, b) => b.width - a.width);
  const maskIfds = opened.ifds.filter((d) => (d.subfileType & 4) === 4);
  const maskFor = (w: number, h: number): GeoTIFFImage | null => maskIfds.find((d) => d.width === w && d.height === h)?.image ?? null;
  const levels: SceneLevel[] = [main, ...overviewIfds].map((d, level) => ({
    level, width: d.width, height: d.height, image: d.image, mask: maskFor(d.width, d.height),
    scaleX: main.width / d.width, scaleY: main.height / d.height,
  }));
  return { main, overviewIfds, levels };
}

/** Where a TIFF lies on Earth, as far as it says: CRS, geotransform, WGS84 transforms and footprint. */
interface Placement {
  crs: CrsInfo | null;
  georeference: Georeference | null;
  lonLat: LonLatTransform | null;
  toLonLat: PixelToLonLat | null;
  footprint: Footprint | null;
  notes: string[];
}

/** The geotransform (declared, or fitted to GCPs when they fit well), with notes on why not. */
async function georeferenceOf(image: GeoTIFFImage, keys: GeoKeys | null, notes: string[]): Promise<Georeference | null> {
  const gt = geoTransformOf(image, keys);
  if (gt) return { kind: 'geotransform', geoTransform: gt };
  const gcps = await gcpsOf(image);
  if (gcps.length === 0) return null;
  const fit = fitGcps(gcps);
  if (!fit) {
    notes.push(`The file has ${gcps.length} ground control points, too few or collinear to place it on the map.`);
    return null;
  }
  if (fit.rmsPixels > MAX_GCP_RMS_PIXELS) {
    notes.push(`The file's ${gcps.length} ground control points do not fit an affine transform (RMS ${fit.rmsPixels.toFixed(1)} px): not placed on the map.`);
    return null;
  }
  notes.push(`Placed by an affine fit to ${gcps.length} ground control points (RMS ${fit.rmsPixels.toFixed(2)} px).`);
  return { kind: 'gcps', geoTransform: fit.geoTransform, gcps: { count: gcps.length, rmsPixels: fit.rmsPixels } };
}

/** Georeference + CRS → the scene's place: pixel ↔ WGS84 and the footprint; pixel space when either is missing. */
async function placementOf(image: GeoTIFFImage, keys: GeoKeys | null, main: TiffIfd, file: string): Promise<Placement> {
  const notes: string[] = [];
  let georeference = await georeferenceOf(image, keys, notes);
  let crs: CrsInfo | null = georeference ? crsFromGeoKeys(keys, file) : null;
  if (georeference && !crs) {
    notes.push('The file has a geotransform but declares no coordinate system: shown in pixel space.');
    georeference = null;
  }
  if (!georeference && notes.length === 0) notes.push('No georeferencing: a pixel-space scene (searchable, no map position).');
  if (crs && georeference) {
    // The scene's centre (ellipsoid-only) picks the datum transformation when the grid is missing.
    const [cx, cy] = applyGeoTransform(georeference.geoTransform, main.width / 2, main.height / 2);
    const [lon, lat] = toWgs84(crs).forward(cx, cy);
    crs = withGridFallback(crs, lon, lat);
  }
  if (crs?.datum.note) notes.push(crs.datum.note);
  const lonLat = crs && georeference ? toWgs84(crs) : null;
  let fp: Footprint | null = null;
  let toLonLat: PixelToLonLat | null = null;
  if (lonLat && georeference) {
    const g = georeference.geoTransform;
    toLonLat = (c, r) => {
      const [x, y] = applyGeoTransform(g, c, r);
      return lonLat.forward(x, y);
    };
    fp = footprint(main.width, main.height, toLonLat);
  }
  return { crs, georeference, lonLat, toLonLat, footprint: fp, notes };
}

async function openGeoTiff(file: string, size: number): Promise<Scene> {
  const opened = await openTiff(file, size);
  try {
    const { main, overviewIfds, levels } = levelsOf(opened);
    const image = main.image;
    const spp = image.getSamplesPerPixel();
    const dtype = sampleType(image, file);
    const colors = await colorInterpretation(image);
    const alphaBand = colors.indexOf('alpha');
    const nodata = image.getGDALNoData();
    const keys = image.getGeoKeys() as GeoKeys | null;
    const place = await placementOf(image, keys, main, file);
    const fd = image.fileDirectory;
    const compression = Number(fd.getValue('Compression') ?? 1);
    const photometric = Number(fd.getValue('PhotometricInterpretation') ?? 1);
    const description: SceneDescription = {
      file,
      name: basename(file),
      format: keys ? 'geotiff' : 'tiff',
      fileSize: size,
      width: main.width,
      height: main.height,
      bands: spp,
      dtype,
      colorInterpretation: colors,
      nodata,
      mask: alphaBand >= 0 ? 'alpha' : levels[0]!.mask ? 'internal' : nodata !== null ? 'nodata' : 'none',
      alphaBand: alphaBand >= 0 ? alphaBand : null,
      overviews: levels.slice(1).map((l) => ({ level: l.level, width: l.width, height: l.height })),
      tiling: {
        tiled: image.isTiled,
        blockWidth: image.isTiled ? image.getTileWidth() : main.width,
        blockHeight: image.isTiled ? image.getTileHeight() : image.getBlockHeight(0),
      },
      cog: isCog(opened, main, overviewIfds),
      compression: (COMPRESSIONS[compression]?.name ?? String(compression)) + (compression === 7 && photometric === 6 ? ' (YCbCr)' : ''),
      interleave: spp > 1 && image.planarConfiguration === 2 ? 'band' : 'pixel',
      crs: place.georeference ? place.crs : null,
      georeferenced: place.footprint !== null,
      georeference: place.georeference,
      footprint: place.footprint,
      notes: place.notes,
    };
    return { description, levels, lonLat: place.lonLat, toLonLat: place.toLonLat, close: async () => { await opened.tiff.close(); } };
  } catch (err) {
    await Promise.resolve(opened.tiff.close()).catch(() => undefined);
    throw err;
  }
}

/**
 * Opens any raster Kestrel reads: GeoTIFF/COG/plain TIFF through geotiff.js (ranged reads),
 * JPEG/PNG as pixel-space scenes. Every failure is a RasterError naming the file and the reason.
 */
export async function openScene(file: string): Promise<Scene> {
  const { head, size } = await readHead(file);
  const kind = sniff(head);
  if (kind === 'tiff' || kind === 'bigtiff') return openGeoTiff(file, size);
  if (kind === 'jpeg' || kind === 'png') {
    const description = describeWebImage(file, head, kind, size);
    return { description, levels: await decodeWebImage(file, description), lonLat: null, toLonLat: null, close: async () => undefined };
  }
  throw rasterError('not_tiff', file, `${file} is not a TIFF, JPEG or PNG image (it starts with bytes ${head.subarray(0, 4).toString('hex') || 'none: the file is empty'}).`);
}

/** Photos larger than this stay described but are not decoded into memory (no chips, no viewer). */
const MAX_WEB_IMAGE_PIXELS = 100_000_000;

/**
 * JPEG/PNG pixels, decoded whole by sharp (libjpeg-turbo/libpng) and wrapped as an in-memory
 * single-level TIFF, so chips, statistics and the viewer use the same readers as GeoTIFFs.
 */
async function decodeWebImage(file: string, d: SceneDescription): Promise<SceneLevel[]> {
  if (d.width * d.height > MAX_WEB_IMAGE_PIXELS) {
    d.notes.push(`At ${d.width} × ${d.height} px this ${d.format.toUpperCase()} is too large to decode whole; convert it to a tiled GeoTIFF for chips and viewing.`);
    return [];
  }
  let raw: { data: Buffer; info: { width: number; height: number; channels: number; depth?: string } };
  try {
    raw = await sharp(file).raw({ depth: d.dtype === 'uint16' ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw rasterError('truncated', file, `${file} cannot be decoded as ${d.format.toUpperCase()} (${(err as Error).message}).`, 'The image is damaged or incomplete: copy it again.');
  }
  const { width, height, channels } = raw.info;
  const bits = raw.info.depth === 'ushort' ? 16 : 8;
  const values = bits === 16 ? new Uint16Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength / 2) : new Uint8Array(raw.data);
  const extra = channels === 2 || channels === 4 ? [2] : [];
  const buffer = writeArrayBuffer(values, {
    width,
    height,
    SamplesPerPixel: channels,
    BitsPerSample: new Array<number>(channels).fill(bits),
    PhotometricInterpretation: channels >= 3 ? 2 : 1,
    PlanarConfiguration: 1,
    ...(extra.length ? { ExtraSamples: extra } : {}),
  });
  const image = await (await fromArrayBuffer(buffer)).getImage(0);
  d.bands = channels;
  d.dtype = bits === 16 ? 'uint16' : 'uint8';
  return [{ level: 0, width, height, image, mask: null, scaleX: 1, scaleY: 1 }];
}

/** Opens, describes and closes. */
export async function describeScene(file: string): Promise<SceneDescription> {
  const scene = await openScene(file);
  try {
    return scene.description;
  } finally {
    await scene.close();
  }
}
