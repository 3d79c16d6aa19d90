import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IMPORT_ARCHITECTURES, KestrelError } from '../../../app/contract/index.js';
import { BUILTIN_ARCHITECTURES } from '../../../app/core/model/import/architectures.js';
import { importModel, openCheckpoint, type ImportOptions } from '../../../app/core/model/index.js';
import { ZipFile } from '../../../app/core/model/import/zip.js';
import { FIX, safetensorsBytes, tmp } from './helpers.js';

const dir = tmp('errors');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(o: Partial<ImportOptions> & { checkpoint: string }): Promise<KestrelError> {
  const out = join(dir, `pack-${Math.random().toString(36).slice(2)}`);
  try {
    await importModel({ out, verify: false, ...o });
  } catch (err) {
    expect(err).toBeInstanceOf(KestrelError);
    // A failed import leaves nothing behind: no pack, no temporary folder beside it.
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.importing-'))).toEqual([]);
    return err as KestrelError;
  }
  throw new Error('the import was expected to fail');
}

describe('bad input is a clear error and leaves no half-written pack', () => {
  it('wrong architecture for the weights: the shape mismatch names the tensor and what the weights look like', async () => {
    const err = await failure({ checkpoint: join(FIX, 'openclip-tiny-fp16.pt'), arch: 'ViT-B-32' });
    expect(err.message).toMatch(/does not fit architecture ViT-B-32: visual\.conv1\.weight is 32×3×16×16 in the file, ViT-B-32 needs 768×3×32×32/);
    expect(err.hint).toMatch(/image 64px, patch 16, vision 2×32, text 2×4, embedding 16/);
    expect(err.issues?.[0]?.path).toBe('visual.conv1.weight');
  });

  it('HarMA weights imported as plain open_clip: the adapters are named as unknown tensors, with the fix', async () => {
    const err = await failure({ checkpoint: join(FIX, 'harma-tiny.pt'), config: join(FIX, 'tiny-quickgelu.json'), layout: 'open_clip' });
    expect(err.message).toMatch(/tensor\(s\) that layout open_clip does not use: .*mmadapter/);
    expect(err.hint).toMatch(/--layout harma/);
  });

  it('the wrong layout: missing tensors are listed, with the layout the names suggest', async () => {
    const err = await failure({ checkpoint: join(FIX, 'hf-tiny.safetensors'), config: join(FIX, 'hf-tiny.config.json'), layout: 'open_clip' });
    expect(err.message).toMatch(/missing \d+ tensor\(s\) .*visual\.conv1\.weight/);
    expect(err.hint).toMatch(/--layout hf/);
  });

  it('an unsupported dtype names the tensor', async () => {
    // The HF fixture with one weight turned into int64.
    const ck = openCheckpoint(join(FIX, 'hf-tiny.safetensors'));
    const tensors: Parameters<typeof safetensorsBytes>[0] = {};
    for (const [name, t] of ck.tensors) {
      const v = ck.read(name);
      tensors[name] = name === 'visual_projection.weight'
        ? { dtype: 'I64', shape: t.shape, data: new Uint8Array(BigInt64Array.from(v, (x) => BigInt(Math.round(x * 100))).buffer) }
        : { dtype: 'F32', shape: t.shape, data: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
    }
    ck.close();
    const file = join(dir, 'int64-weight.safetensors');
    writeFileSync(file, safetensorsBytes(tensors));
    const err = await failure({ checkpoint: file, config: join(FIX, 'hf-tiny.config.json') });
    expect(err.message).toMatch(/visual_projection\.weight is int64/);
  });

  it('a malicious pickle, an empty file and a truncated zip', async () => {
    expect((await failure({ checkpoint: join(FIX, 'malicious.pt') })).message).toMatch(/posix\.system.*refused/);
    const empty = join(dir, 'empty.bin');
    writeFileSync(empty, '');
    expect((await failure({ checkpoint: empty })).message).toMatch(/is empty/);
    const whole = readFileSync(join(FIX, 'harma-tiny.pt'));
    const cut = join(dir, 'cut.pt');
    writeFileSync(cut, whole.subarray(0, whole.length - 200));
    expect((await failure({ checkpoint: cut })).message).toMatch(/not a complete zip archive/);
  });

  it('a failure while the towers are written removes the partial pack', async () => {
    // A zip whose directory is intact but whose data stops short: found only when the tensors are read.
    const source = join(FIX, 'openclip-tiny-fp16.pt');
    const zip = ZipFile.open(source);
    const largest = [...zip.entries.values()].sort((a, b) => b.size - a.size)[0];
    zip.close();
    if (!largest) throw new Error('empty zip');
    // Break the local header of the largest entry (the token table): the directory still reads, the
    // failure comes only when that tensor is read, after image.onnx has been written.
    const damaged = Buffer.from(readFileSync(source));
    damaged.writeUInt32LE(0xdeadbeef, largest.localHeaderOffset);
    const file = join(dir, 'damaged.pt');
    writeFileSync(file, damaged);
    const err = await failure({ checkpoint: file, config: join(FIX, 'tiny-quickgelu.json') });
    expect(err.message).toMatch(/damaged/);
  });

  it('refuses to overwrite an existing pack unless forced', async () => {
    const out = join(dir, 'existing');
    await importModel({ checkpoint: join(FIX, 'openclip-tiny-fp16.pt'), config: join(FIX, 'tiny-quickgelu.json'), out, verify: false });
    await expect(importModel({ checkpoint: join(FIX, 'openclip-tiny-fp16.pt'), out, verify: false })).rejects.toThrow(/already exists/);
    const again = await importModel({ checkpoint: join(FIX, 'openclip-tiny-fp16.pt'), config: join(FIX, 'tiny-quickgelu.json'), out, force: true, precision: 'fp16', verify: false });
    expect(again.manifest.architecture.precision).toBe('fp16');
  });
});

describe('defaults', () => {
  it('without --arch the architecture is inferred from the weights and said so; recognised file names set activation and licence', async () => {
    const notes: string[] = [];
    const out = join(dir, 'inferred');
    // RemoteCLIP's published file name on the tiny weights: recognised, but --config gives the real shapes.
    const named = join(dir, 'RemoteCLIP-ViT-B-32.pt');
    writeFileSync(named, readFileSync(join(FIX, 'openclip-tiny-fp16.pt')));
    const r = await importModel({ checkpoint: named, config: join(FIX, 'tiny-gelu.json'), out, verify: false, onNote: (m) => notes.push(m) });
    expect(r.manifest.architecture.activation).toBe('quick_gelu');
    expect(r.manifest.licence).toMatch(/Apache-2\.0/);
    expect(r.manifest.provenance.recognisedAs).toBe('RemoteCLIP-ViT-B-32');
    expect(notes.join('\n')).toMatch(/recognised RemoteCLIP ViT-B-32/);

    const notes2: string[] = [];
    const r2 = await importModel({ checkpoint: join(FIX, 'openclip-tiny-fp16.pt'), out: join(dir, 'inferred2'), verify: false, onNote: (m) => notes2.push(m) });
    expect(r2.manifest.architecture.vision).toMatchObject({ layers: 2, width: 32, patchSize: 16 });
    expect(r2.manifest.licence).toMatch(/Not stated/);
    expect(notes2.join('\n')).toMatch(/inferred from the weights/);
    expect(notes2.join('\n')).toMatch(/activation: quick_gelu \(not stated anywhere/);
  });
});

describe('the architectures the contract offers', () => {
  it('are exactly the importer\'s built-in ones, so the Models tab lists no name the importer refuses and misses none', () => {
    expect([...IMPORT_ARCHITECTURES].sort()).toEqual(Object.keys(BUILTIN_ARCHITECTURES).sort());
  });
});
