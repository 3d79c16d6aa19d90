import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeScene, RasterError, scanFolder } from '../../../app/core/raster/index.js';
import { HAVE_DATA, SKIP_REASON, geotiff } from './data.js';

/** Finds a tag's 12-byte entry in the first IFD of a classic TIFF. */
function tagEntry(buf: Buffer, tag: number): number {
  const le = buf.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const ifd = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (u16(e) === tag) return e;
  }
  throw new Error(`tag ${tag} not in the first IFD`);
}

/** Rewrites a tag of the first IFD as a single LONG (or SHORT) value. */
function patchTag(buf: Buffer, tag: number, value: number, type: 3 | 4): void {
  const le = buf.toString('latin1', 0, 2) === 'II';
  const e = tagEntry(buf, tag);
  if (le) {
    buf.writeUInt16LE(type, e + 2);
    buf.writeUInt32LE(1, e + 4);
    if (type === 3) buf.writeUInt32LE(value & 0xffff, e + 8);
    else buf.writeUInt32LE(value, e + 8);
  } else {
    buf.writeUInt16BE(type, e + 2);
    buf.writeUInt32BE(1, e + 4);
    if (type === 3) { buf.writeUInt16BE(value, e + 8); buf.writeUInt16BE(0, e + 10); } else buf.writeUInt32BE(value, e + 8);
  }
}

async function failure(file: string): Promise<RasterError> {
  const err = await describeScene(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${file} should fail`).toBeInstanceOf(RasterError);
  const r = err as RasterError;
  expect(r.file).toBe(file);
  expect(r.message).toContain(file);
  expect(r.hint).toBeTruthy();
  return r;
}

describe.skipIf(!HAVE_DATA)(`bad input gives a typed error naming the file and the reason ${HAVE_DATA ? '' : SKIP_REASON}`, () => {
  let dir: string;
  const stripped = (): Buffer => readFileSync(geotiff('RGB.byte.tif'));
  const cog = (): Buffer => readFileSync(geotiff('rio-tiler/cog_dateline.tif'));
  const bad: Record<string, string> = {};

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kestrel-bad-raster-'));
    const put = (name: string, data: Buffer | string): string => {
      const p = join(dir, name);
      writeFileSync(p, data);
      bad[name] = p;
      return p;
    };
    const s = stripped();
    const solaris = readFileSync(geotiff('solaris_sample_geotiff.tif')); // stripped, directory first
    put('truncated-stripped.tif', solaris.subarray(0, Math.floor(solaris.length / 2)));
    put('truncated-directory-at-end.tif', s.subarray(0, Math.floor(s.length / 2)));
    const c = cog();
    put('truncated-cog.tif', c.subarray(0, Math.floor(c.length * 0.6)));
    put('header-only.tif', s.subarray(0, 6));

    const beyond = Buffer.from(s);
    if (beyond.toString('latin1', 0, 2) === 'II') beyond.writeUInt32LE(beyond.length + 1000, 4);
    else beyond.writeUInt32BE(beyond.length + 1000, 4);
    put('ifd-offset-beyond-end.tif', beyond);

    // First IFD pointed into the middle of the pixel data: garbage entries.
    const garbage = Buffer.from(s);
    garbage.fill(0xab, 1000, 1200);
    if (garbage.toString('latin1', 0, 2) === 'II') garbage.writeUInt32LE(1000, 4);
    else garbage.writeUInt32BE(1000, 4);
    put('ifd-offset-into-data.tif', garbage);

    const jp2 = Buffer.from(s);
    patchTag(jp2, 259, 34712, 3); // Compression = JPEG 2000
    put('jpeg2000-compression.tif', jp2);
    const unknownCompression = Buffer.from(s);
    patchTag(unknownCompression, 259, 60000, 3);
    put('unknown-compression.tif', unknownCompression);

    const huge = Buffer.from(s);
    patchTag(huge, 256, 3_000_000_000, 4); // ImageWidth
    patchTag(huge, 257, 3_000_000_000, 4); // ImageLength
    put('absurd-dimensions.tif', huge);
    const zero = Buffer.from(s);
    patchTag(zero, 256, 0, 3);
    put('zero-width.tif', zero);

    put('not-a-tiff.tif', 'This is a text file someone named .tif\n');
    put('empty.tif', '');
    mkdirSync(join(dir, 'directory.tif', 'inner'), { recursive: true });
    bad['directory.tif'] = join(dir, 'directory.tif');
    bad['missing.tif'] = join(dir, 'missing.tif');
    if (process.getuid?.() !== 0) {
      const locked = put('no-permission.tif', s.subarray(0, 4096));
      chmodSync(locked, 0o000);
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a truncated stripped file', async () => {
    const e = await failure(bad['truncated-stripped.tif']!);
    expect(e.problem).toBe('truncated');
    expect(e.code).toBe('corrupt_file');
    expect(e.message).toMatch(/truncated/);
  });

  it('a truncated file whose directory was at the end', async () => {
    const e = await failure(bad['truncated-directory-at-end.tif']!);
    expect(e.problem).toBe('corrupt_ifd');
    expect(e.message).toMatch(/truncated or its header is damaged/);
  });

  it('a truncated COG', async () => {
    expect((await failure(bad['truncated-cog.tif']!)).problem).toBe('truncated');
  });

  it('a file cut inside its header', async () => {
    expect(['corrupt_ifd', 'truncated']).toContain((await failure(bad['header-only.tif']!)).problem);
  });

  it('an IFD offset beyond the end of the file', async () => {
    const e = await failure(bad['ifd-offset-beyond-end.tif']!);
    expect(e.problem).toBe('corrupt_ifd');
    expect(e.message).toMatch(/outside the file/);
  });

  it('an IFD offset pointing into pixel data', async () => {
    expect(['corrupt_ifd', 'absurd_dimensions', 'truncated', 'unsupported_compression']).toContain((await failure(bad['ifd-offset-into-data.tif']!)).problem);
  });

  it('an unsupported compression (JPEG 2000, and an unknown code)', async () => {
    const e = await failure(bad['jpeg2000-compression.tif']!);
    expect(e.problem).toBe('unsupported_compression');
    expect(e.message).toMatch(/JPEG 2000/);
    expect((await failure(bad['unknown-compression.tif']!)).message).toMatch(/compression code 60000/);
  });

  it('absurd declared dimensions', async () => {
    const e = await failure(bad['absurd-dimensions.tif']!);
    expect(e.problem).toBe('absurd_dimensions');
    expect(e.message).toMatch(/3000000000/);
    expect((await failure(bad['zero-width.tif']!)).problem).toBe('absurd_dimensions');
  });

  it('a non-TIFF file named .tif, and an empty one', async () => {
    const e = await failure(bad['not-a-tiff.tif']!);
    expect(e.problem).toBe('not_tiff');
    expect(e.message).toMatch(/not a TIFF/);
    expect((await failure(bad['empty.tif']!)).message).toMatch(/empty/);
  });

  it('an unreadable file: missing, a directory, or (as non-root) without permission', async () => {
    for (const name of ['missing.tif', 'directory.tif', 'no-permission.tif']) {
      if (!bad[name]) continue;
      const e = await failure(bad[name]);
      expect(e.problem).toBe('unreadable');
      expect(e.code).toBe('io_error');
    }
  });

  it('a folder scan records each bad file and goes on past it', async () => {
    copyFileSync(geotiff('rio-tiler/cog_rgb.tif'), join(dir, 'good.tif'));
    const scan = await scanFolder(dir);
    expect(scan.scenes.map((s) => s.name)).toEqual(['good.tif']);
    const failed = scan.errors.map((e) => e.file);
    for (const [name, p] of Object.entries(bad)) if (name !== 'missing.tif') expect(failed).toContain(p);
    for (const e of scan.errors) expect(e.message).toContain(e.file!);
  });
});
