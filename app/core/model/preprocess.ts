/**
 * Image preprocessing as open_clip runs it at evaluation time (torchvision on PIL images):
 * resize with PIL's bicubic filter, reproduced exactly (its fixed-point two-pass resampler with
 * 8-bit intermediates), centre crop with torchvision's rounding, then /255 and (x − mean) / std in
 * float32. JPEG/PNG are decoded by sharp (libjpeg-turbo, as in Pillow's wheels) and TIFF by geotiff.js:
 * on the real images in ../shared/data/rs-captioned the tensors equal open_clip's to float32 rounding.
 */
import { readFile } from 'node:fs/promises';
import { fromArrayBuffer } from 'geotiff';
import sharp from 'sharp';
import { KestrelError } from '../../contract/index.js';

/** 8-bit RGB, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface PreprocessSpec {
  size: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  resize: 'shortest-side-center-crop' | 'direct';
}

function unsupported(file: string, why: string): KestrelError {
  return new KestrelError({
    code: 'invalid_input',
    message: `Cannot read ${file} as an image: ${why}.`,
    file,
    hint: 'Kestrel reads JPEG, PNG and 8-bit TIFF/GeoTIFF images with 1, 3 or 4 bands.',
  });
}

/** Decodes a JPEG or TIFF file to 8-bit RGB (grey is replicated, alpha dropped, as PIL's convert('RGB')). */
export async function decodeImageFile(file: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new KestrelError({ code: 'not_found', message: `Cannot read ${file}: ${(err as Error).message}`, file });
  }
  return decodeImage(bytes, file);
}

export async function decodeImage(bytes: Uint8Array, file = '(image)'): Promise<RgbImage> {
  const isTiff = (bytes[0] === 0x49 && bytes[1] === 0x49) || (bytes[0] === 0x4d && bytes[1] === 0x4d);
  if (!isTiff) return decodeWithSharp(bytes, file);
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const tiff = await fromArrayBuffer(buffer);
    const image = await tiff.getImage(0);
    const bands = image.getSamplesPerPixel();
    const bits = image.getBitsPerSample();
    if (bits !== 8) throw unsupported(file, `${bits}-bit samples (8-bit expected)`);
    const width = image.getWidth();
    const height = image.getHeight();
    const raster = (await image.readRasters({ interleave: true })) as unknown as Uint8Array;
    if (bands === 1) return grayToRgb(width, height, raster);
    if (bands < 3) throw unsupported(file, `${bands} bands`);
    if (bands === 3) return { width, height, data: Uint8Array.from(raster) };
    const data = new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      data[p * 3] = raster[p * bands] ?? 0;
      data[p * 3 + 1] = raster[p * bands + 1] ?? 0;
      data[p * 3 + 2] = raster[p * bands + 2] ?? 0;
    }
    return { width, height, data };
  } catch (err) {
    if (err instanceof KestrelError) throw err;
    throw unsupported(file, (err as Error).message);
  }
}

/** JPEG, PNG, WebP: no EXIF rotation and no colour management, like PIL's Image.open + convert('RGB'). */
async function decodeWithSharp(bytes: Uint8Array, file: string): Promise<RgbImage> {
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await sharp(bytes, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw unsupported(file, (err as Error).message.replace(/\.$/, ''));
  }
  const { width, height, channels } = raw.info;
  if (channels === 3) return { width, height, data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length) };
  if (channels === 1 || channels === 2) {
    const gray = new Uint8Array(width * height);
    for (let p = 0; p < gray.length; p++) gray[p] = raw.data[p * channels] ?? 0;
    return grayToRgb(width, height, gray);
  }
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    data[p * 3] = raw.data[p * channels] ?? 0;
    data[p * 3 + 1] = raw.data[p * channels + 1] ?? 0;
    data[p * 3 + 2] = raw.data[p * channels + 2] ?? 0;
  }
  return { width, height, data };
}

function grayToRgb(width: number, height: number, gray: Uint8Array): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data[p * 3] = data[p * 3 + 1] = data[p * 3 + 2] = gray[p] ?? 0;
  return { width, height, data };
}

// ----- PIL's bicubic resampler (Pillow src/libImaging/Resample.c), 8 bits per channel ------------

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coeffs {
  ksize: number;
  bounds: Int32Array; // per output: xmin, count
  kk: Int32Array; // fixed-point weights, ksize per output
}

function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? (k[x] ?? 0) / ww : (k[x] ?? 0);
      kk[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(v: number): number {
  if (v >= 255 * ONE) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / ONE);
}

/** `PIL.Image.resize((outW, outH), Image.BICUBIC)` on an RGB image, bit for bit. */
export function resizeBicubic(img: RgbImage, outW: number, outH: number): RgbImage {
  let { width, height, data } = img;
  if (outW === width && outH === height) return { width, height, data: Uint8Array.from(data) };
  const horiz = precomputeCoeffs(width, outW);
  const vert = precomputeCoeffs(height, outH);
  const needH = outW !== width;
  const needV = outH !== height;
  const vb = Int32Array.from(vert.bounds);
  if (needH) {
    // Only the source rows the vertical pass will read are resampled horizontally.
    const first = vb[0] ?? 0;
    const last = (vb[outH * 2 - 2] ?? 0) + (vb[outH * 2 - 1] ?? 0);
    for (let i = 0; i < outH; i++) vb[i * 2] = (vb[i * 2] ?? 0) - first;
    const rows = last - first;
    const out = new Uint8Array(outW * rows * 3);
    const { ksize, bounds, kk } = horiz;
    for (let y = 0; y < rows; y++) {
      const rowIn = (y + first) * width * 3;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2] ?? 0;
        const n = bounds[xx * 2 + 1] ?? 0;
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0; x < n; x++) {
          const w = kk[xx * ksize + x] ?? 0;
          const p = rowIn + (x + xmin) * 3;
          s0 += (data[p] ?? 0) * w;
          s1 += (data[p + 1] ?? 0) * w;
          s2 += (data[p + 2] ?? 0) * w;
        }
        const o = (y * outW + xx) * 3;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
    }
    data = out;
    width = outW;
    height = rows;
  }
  if (!needV) return { width, height, data };
  const out = new Uint8Array(width * outH * 3);
  const { ksize, kk } = vert;
  const bounds = needH ? vb : vert.bounds;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2] ?? 0;
    const n = bounds[yy * 2 + 1] ?? 0;
    for (let xx = 0; xx < width; xx++) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let y = 0; y < n; y++) {
        const w = kk[yy * ksize + y] ?? 0;
        const p = ((y + ymin) * width + xx) * 3;
        s0 += (data[p] ?? 0) * w;
        s1 += (data[p + 1] ?? 0) * w;
        s2 += (data[p + 2] ?? 0) * w;
      }
      const o = (yy * width + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return { width, height: outH, data: out };
}

/** Python's round(): halves go to the even neighbour. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's CenterCrop on a PIL image (crop no larger than the image). */
export function centerCrop(img: RgbImage, size: number): RgbImage {
  const top = pyRound((img.height - size) / 2);
  const left = pyRound((img.width - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const src = ((y + top) * img.width + left) * 3;
    out.set(img.data.subarray(src, src + size * 3), y * size * 3);
  }
  return { width: size, height: size, data: out };
}

/** Resize per the pack's rule (torchvision Resize(size) + CenterCrop, or Resize((size, size))). */
export function resizeForModel(img: RgbImage, spec: Pick<PreprocessSpec, 'size' | 'resize'>): RgbImage {
  const { size } = spec;
  if (spec.resize === 'direct') return resizeBicubic(img, size, size);
  const { width: w, height: h } = img;
  const [outW, outH] = w <= h ? [size, Math.trunc((size * h) / w)] : [Math.trunc((size * w) / h), size];
  const resized = resizeBicubic(img, outW, outH);
  return resized.width === size && resized.height === size ? resized : centerCrop(resized, size);
}

/** ToTensor + Normalize, in float32 as torch computes them; writes CHW into `out` at `offset`. */
export function normalizeInto(img: RgbImage, spec: Pick<PreprocessSpec, 'mean' | 'std'>, out: Float32Array, offset = 0): void {
  const plane = img.width * img.height;
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const mean = f(spec.mean[c] ?? 0);
    const std = f(spec.std[c] ?? 1);
    const base = offset + c * plane;
    for (let p = 0; p < plane; p++) out[base + p] = f(f(f((img.data[p * 3 + c] ?? 0) / 255) - mean) / std);
  }
}

/** Decoded RGB → the model's input tensor (3 × size × size, float32). */
export function preprocess(img: RgbImage, spec: PreprocessSpec): Float32Array {
  const ready = resizeForModel(img, spec);
  const out = new Float32Array(3 * spec.size * spec.size);
  normalizeInto(ready, spec, out);
  return out;
}
