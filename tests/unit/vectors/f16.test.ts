/** Our half-precision codec against an independent implementation (@petamoriken/float16), bit for bit. */
import { Float16Array } from '@petamoriken/float16';
import { describe, expect, it } from 'vitest';
import { decodeHalf, encodeHalf } from '../../../app/core/vectors/index.js';

function reference(values: number[]): Uint16Array {
  const ref = new Float16Array(values);
  return new Uint16Array(ref.buffer);
}

describe('float16 codec', () => {
  it('encodes exactly as the reference, edge cases included', () => {
    const edge = [0, -0, 1, -1, 0.1, 1 / 3, 65504, 65519, 65520, 1e6, -1e6, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-9, Infinity, -Infinity, 1.00048828125, 1.000732421875];
    expect([...encodeHalf(edge)]).toEqual([...reference(edge)]);
    expect(Number.isNaN(decodeHalf(encodeHalf([NaN]))[0])).toBe(true);
  });

  it('encodes 100 000 random values in [-1, 1] and every half decodes to what the reference decodes', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const values = Array.from({ length: 100_000 }, rnd);
    expect(encodeHalf(values)).toEqual(reference(values));
    const all = new Uint16Array(65536).map((_, i) => i);
    const ours = decodeHalf(all);
    const theirs = new Float16Array(all.buffer);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(theirs[i])) expect(Number.isNaN(ours[i])).toBe(true);
      else expect(ours[i], `half 0x${i.toString(16)}`).toBe(theirs[i]);
    }
  });
});
