import { getDecoder, type BaseDecoder, type GeoTIFFImage } from 'geotiff';
import { LruCache } from '../lru.js';
import type { SampleType } from '../scene.js';

export type Samples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** A pixel window: its top-left corner and size (in the pixels of whatever level it addresses). */
export interface PixelRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

const CTORS = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array,
} as const;

type SamplesCtor = new (lengthOrBuffer: number | ArrayBuffer) => Samples;

export function allocate(dtype: SampleType, length: number): Samples {
  return new (CTORS[dtype] as SamplesCtor)(length);
}

function view(dtype: SampleType, buffer: ArrayBuffer): Samples {
  return new (CTORS[dtype] as SamplesCtor)(buffer);
}

/**
 * Decoded blocks (tiles or strips) of every open scene, least recently used first out.
 * geotiff.js re-decodes a block on every read; tiles and chips that overlap the same blocks reuse them here.
 */
export const blockCache = new LruCache<Samples>(256 * 1024 * 1024);

/** Blocks fetched and decoded (cache misses) and their stored bytes, per origin: the scene files, or tile pyramids. */
export const blockReads = { fileBlocks: 0, fileBytes: 0, pyramidBlocks: 0, pyramidBytes: 0 };

let nextReaderId = 1;

interface DecodedBlock {
  data: Samples;
  /** Samples per pixel stored in `data` (spp for chunky, 1 for planar). */
  stride: number;
  width: number;
  height: number;
}

/**
 * Reads windows of one image (one resolution level, or its mask) block by block through the
 * block cache: only the blocks a window touches are fetched and decoded, each once while cached.
 */
export class BlockReader {
  readonly key = `r${nextReaderId++}:`;
  private decoder: Promise<BaseDecoder> | undefined;
  readonly width: number;
  readonly height: number;
  readonly spp: number;
  readonly blockWidth: number;
  readonly blockHeight: number;
  private readonly planar: boolean;
  private readonly ycbcr: boolean;
  private readonly swap: boolean;

  constructor(
    private readonly image: GeoTIFFImage,
    readonly dtype: SampleType,
    /** Where the image lives, for blockReads: the scene's file or a tile pyramid. */
    readonly origin: 'file' | 'pyramid' = 'file',
  ) {
    this.width = image.getWidth();
    this.height = image.getHeight();
    this.spp = image.getSamplesPerPixel();
    this.blockWidth = image.getTileWidth();
    this.blockHeight = image.getTileHeight();
    this.planar = image.planarConfiguration === 2 && this.spp > 1;
    const fd = image.fileDirectory;
    // JPEG-in-TIFF with YCbCr photometric: geotiff.js's decoder leaves YCbCr; convert once per block.
    this.ycbcr = Number(fd.getValue('Compression')) === 7 && Number(fd.getValue('PhotometricInterpretation')) === 6;
    this.swap = !image.littleEndian && image.getBitsPerSample(0) > 8;
  }

  private getDecoderOnce(): Promise<BaseDecoder> {
    if (!this.decoder) {
      this.decoder = (async () => {
        const fd = this.image.fileDirectory;
        const compression = Number(fd.getValue('Compression') ?? 1);
        const params: Record<string, unknown> = {
          tileWidth: this.blockWidth,
          tileHeight: this.blockHeight,
          planarConfiguration: this.image.planarConfiguration,
          bitsPerSample: fd.getValue('BitsPerSample'),
          predictor: Number((await fd.loadValue('Predictor')) ?? 1) || 1,
        };
        if (compression === 7) params.JPEGTables = await fd.loadValue('JPEGTables');
        if (compression === 34887) params.LercParameters = await fd.loadValue('LercParameters');
        return getDecoder(compression, params as never);
      })();
    }
    return this.decoder;
  }

  private async block(bx: number, by: number, plane: number): Promise<DecodedBlock> {
    const key = `${this.key}${bx}:${by}:${plane}`;
    const stride = this.planar ? 1 : this.spp;
    const height = this.image.getBlockHeight(by);
    const cached = blockCache.get(key);
    if (cached) return { data: cached, stride, width: this.blockWidth, height };
    const { data } = await this.image.getTileOrStrip(bx, by, plane, await this.getDecoderOnce());
    await this.count(bx, by, plane);
    let samples: Samples;
    if (this.swap) {
      const bytes = new Uint8Array(data.slice(0));
      const size = this.image.getBitsPerSample(0) / 8;
      for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
      samples = view(this.dtype, bytes.buffer as ArrayBuffer);
    } else {
      samples = view(this.dtype, data as ArrayBuffer);
    }
    if (this.ycbcr && stride === 3) {
      const s = samples as Uint8Array;
      for (let i = 0; i + 2 < s.length; i += 3) {
        const y = s[i]!;
        const cb = s[i + 1]! - 128;
        const cr = s[i + 2]! - 128;
        s[i] = Math.min(255, Math.max(0, Math.round(y + 1.402 * cr)));
        s[i + 1] = Math.min(255, Math.max(0, Math.round(y - 0.344136 * cb - 0.714136 * cr)));
        s[i + 2] = Math.min(255, Math.max(0, Math.round(y + 1.772 * cb)));
      }
    }
    blockCache.set(key, samples, samples.byteLength);
    return { data: samples, stride, width: this.blockWidth, height };
  }

  private async count(bx: number, by: number, plane: number): Promise<void> {
    const perRow = Math.ceil(this.width / this.blockWidth);
    const perCol = Math.ceil(this.height / this.blockHeight);
    const index = (this.planar ? plane * perRow * perCol : 0) + by * perRow + bx;
    const bytes = Number(await this.image.fileDirectory.loadValueIndexed(this.image.isTiled ? 'TileByteCounts' : 'StripByteCounts', index));
    if (this.origin === 'file') {
      blockReads.fileBlocks++;
      blockReads.fileBytes += bytes;
    } else {
      blockReads.pyramidBlocks++;
      blockReads.pyramidBytes += bytes;
    }
  }

  /**
   * Reads the window [x, x+width) × [y, y+height) of the given samples, one array per sample,
   * row-major. Pixels outside the image are left 0 (callers mark them invalid).
   */
  async read(window: PixelRect, samples: number[]): Promise<Samples[]> {
    const { x: x0, y: y0, width: w, height: h } = window;
    const out = samples.map(() => allocate(this.dtype, w * h));
    const bx0 = Math.max(0, Math.floor(x0 / this.blockWidth));
    const by0 = Math.max(0, Math.floor(y0 / this.blockHeight));
    const bx1 = Math.min(Math.ceil(this.width / this.blockWidth), Math.ceil((x0 + w) / this.blockWidth)) - 1;
    const by1 = Math.min(Math.ceil(this.height / this.blockHeight), Math.ceil((y0 + h) / this.blockHeight)) - 1;
    const jobs: Promise<void>[] = [];
    for (let by = by0; by <= by1; by++) {
      for (let bx = bx0; bx <= bx1; bx++) {
        const planes = this.planar ? samples.map((s) => s) : [0];
        for (const plane of planes) {
          jobs.push(this.block(bx, by, plane).then((b) => {
            const left = bx * this.blockWidth;
            const top = by * this.blockHeight;
            const cx0 = Math.max(x0, left);
            const cx1 = Math.min(x0 + w, left + this.blockWidth, this.width);
            const cy0 = Math.max(y0, top);
            const cy1 = Math.min(y0 + h, top + b.height, this.height);
            samples.forEach((s, si) => {
              if (this.planar && s !== plane) return;
              const offset = this.planar ? 0 : s;
              const dst = out[si]!;
              for (let y = cy0; y < cy1; y++) {
                let src = ((y - top) * b.width + (cx0 - left)) * b.stride + offset;
                let d = (y - y0) * w + (cx0 - x0);
                for (let x = cx0; x < cx1; x++, src += b.stride, d++) dst[d] = b.data[src]!;
              }
            });
          }));
        }
      }
    }
    await Promise.all(jobs);
    return out;
  }

  /**
   * Nearest-neighbour sampling: the value at (cols[i], rows[i]) of each requested sample, for any
   * scattered set of pixels (a warped tile). Negative coordinates are skipped (left 0). Each block
   * the points touch is decoded once.
   */
  async sample(cols: Int32Array, rows: Int32Array, samples: number[]): Promise<Samples[]> {
    const n = cols.length;
    const out = samples.map(() => allocate(this.dtype, n));
    const perRow = Math.ceil(this.width / this.blockWidth);
    const blockOf = new Int32Array(n).fill(-1);
    const needed = new Set<number>();
    for (let i = 0; i < n; i++) {
      const c = cols[i]!;
      const r = rows[i]!;
      if (c < 0 || r < 0 || c >= this.width || r >= this.height) continue;
      const b = Math.floor(r / this.blockHeight) * perRow + Math.floor(c / this.blockWidth);
      blockOf[i] = b;
      needed.add(b);
    }
    const planes = this.planar ? samples : [0];
    const blocks = new Map<string, DecodedBlock>();
    await Promise.all(
      [...needed].flatMap((b) =>
        planes.map((plane) => this.block(b % perRow, Math.floor(b / perRow), plane).then((blk) => void blocks.set(`${b}:${plane}`, blk))),
      ),
    );
    samples.forEach((s, si) => {
      const dst = out[si]!;
      const plane = this.planar ? s : 0;
      const offset = this.planar ? 0 : s;
      let lastKey = -1;
      let blk: DecodedBlock | undefined;
      for (let i = 0; i < n; i++) {
        const b = blockOf[i]!;
        if (b < 0) continue;
        if (b !== lastKey) {
          blk = blocks.get(`${b}:${plane}`);
          lastKey = b;
        }
        const left = (b % perRow) * this.blockWidth;
        const top = Math.floor(b / perRow) * this.blockHeight;
        dst[i] = blk!.data[((rows[i]! - top) * blk!.width + (cols[i]! - left)) * blk!.stride + offset]!;
      }
    });
    return out;
  }

  /** Forgets this reader's cached blocks. */
  evict(): void {
    blockCache.dropPrefix(this.key);
  }
}
