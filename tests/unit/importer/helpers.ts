import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIX = join(ROOT, 'tests', 'fixtures', 'importer');

/** What tools/make_import_fixtures.py recorded from open_clip / transformers / the HarMA reference. */
export interface CheckpointRefs {
  layout: 'open_clip' | 'hf' | 'harma';
  config: string;
  activation: 'quick_gelu' | 'gelu';
  image: { raw: number[][]; normalized: number[][] };
  text: { raw: number[][]; normalized: number[][] };
}
export interface References {
  captions: string[];
  inputIds: number[][];
  pixels: string;
  checkpoints: Record<string, CheckpointRefs>;
}

export const refs = JSON.parse(readFileSync(join(FIX, 'references.json'), 'utf8')) as References;

export function pixels(): Float32Array {
  const buf = readFileSync(join(FIX, refs.pixels));
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kestrel-import-${prefix}-`));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** A safetensors file from named float32 / int64 arrays (for bad-input cases built in the test). */
export function safetensorsBytes(tensors: Record<string, { dtype: 'F32' | 'I64'; shape: number[]; data: Uint8Array }>): Buffer {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [k, t] of Object.entries(tensors)) {
    header[k] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.byteLength] };
    at += t.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...Object.values(tensors).map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}
