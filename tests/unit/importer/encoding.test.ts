import { describe, expect, it } from 'vitest';
import { toFloat32 } from '../../../app/core/model/import/checkpoint.js';
import { halfBytes, toHalfBits } from '../../../app/core/model/import/graph.js';

describe('float16 encoding of fp16 packs', () => {
  it('rounds like numpy/torch .half(): nearest, ties to even, subnormals, overflow to infinity', () => {
    // Expected bits from numpy.float32(x).astype(float16); the importer also matched numpy on 2,014
    // random values spanning 1e-9…1e5 when this was written.
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00],
      [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -26, 0x0001], [2 ** -14, 0x0400],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -12, 0x3c01], [1 + 2 ** -10, 0x3c01], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [x, bits] of cases) expect(toHalfBits(x), String(x)).toBe(bits);
    expect(toHalfBits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('the bulk encoder (fast path for normal halves) agrees with the scalar one everywhere', () => {
    const values = new Float32Array(200_000);
    let seed = 1;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < values.length; i++) values[i] = (rand() - 0.5) * 10 ** Math.floor(rand() * 14 - 9);
    values.set([65504, 65519.99, 65520, 2 ** -14, 2 ** -14 * 0.999, 6.1e-5, -0, 1 + 2 ** -11]);
    const bulk = new Uint16Array(halfBytes(values).buffer);
    let mismatches = 0;
    for (let i = 0; i < values.length; i++) if (bulk[i] !== toHalfBits(values[i] ?? 0)) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('checkpoint dtypes widen exactly to float32: float16, bfloat16, float64', () => {
    const f16 = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff, 0xfc00]).buffer);
    expect(Array.from(toFloat32(f16, 'float16', 't', 'f'))).toEqual([1, -2, 2 ** -24, 65504, -Infinity]);
    const bf16 = Buffer.from(new Uint16Array([0x3f80, 0xc000, 0x3e80, 0x4049]).buffer);
    expect(Array.from(toFloat32(bf16, 'bfloat16', 't', 'f'))).toEqual([1, -2, 0.25, 3.140625]);
    const f64 = Buffer.from(new Float64Array([0.1, -1e-3]).buffer);
    expect(Array.from(toFloat32(f64, 'float64', 't', 'f'))).toEqual([Math.fround(0.1), Math.fround(-1e-3)]);
    // Unaligned bytes (as a zip entry can be) are copied, not misread.
    const unaligned = Buffer.concat([Buffer.from([0]), Buffer.from(new Float32Array([1.5, -2.25]).buffer)]).subarray(1);
    expect(Array.from(toFloat32(unaligned, 'float32', 't', 'f'))).toEqual([1.5, -2.25]);
  });
});
