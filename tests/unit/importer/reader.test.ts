import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KestrelError } from '../../../app/contract/index.js';
import { ALLOWED_GLOBALS, openCheckpoint } from '../../../app/core/model/index.js';
import { unpickle } from '../../../app/core/model/import/pickle.js';
import { FIX, safetensorsBytes, tmp } from './helpers.js';

const MARKER = '/tmp/kestrel-malicious-pickle-ran';
const dir = tmp('reader');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(fn: () => unknown): KestrelError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KestrelError);
    return err as KestrelError;
  }
  throw new Error('expected a refusal');
}

const pickleOf = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const noStorage = { file: 'test.pkl', persistentLoad: () => { throw new Error('no storages here'); } };

describe('checkpoint readers', () => {
  it('reads a PyTorch zip checkpoint (float16 state dict) without holding it: names, shapes, dtypes, values', () => {
    const ck = openCheckpoint(join(FIX, 'openclip-tiny-fp16.pt'));
    try {
      expect(ck.format).toBe('pytorch-zip');
      expect(ck.unwrapped).toEqual([]);
      expect(ck.tensors.size).toBe(62);
      expect(ck.tensors.get('visual.conv1.weight')).toMatchObject({ dtype: 'float16', shape: [32, 3, 16, 16] });
      expect(ck.tensors.get('logit_scale')?.shape).toEqual([]);
      const w = ck.read('visual.conv1.weight');
      expect(w).toHaveLength(32 * 3 * 16 * 16);
      // torch.load(...)['visual.conv1.weight'].flatten()[:3], float16 values widened exactly.
      expect(Array.from(w.slice(0, 3))).toEqual([-0.0101776123046875, 0.0311126708984375, 0.0115966796875]);
    } finally {
      ck.close();
    }
  });

  it("reads PyTorch's legacy (non-zip) format to the same tensors", () => {
    const a = openCheckpoint(join(FIX, 'openclip-tiny-fp16.pt'));
    const b = openCheckpoint(join(FIX, 'openclip-tiny-legacy.pt'));
    try {
      expect(b.format).toBe('pytorch-legacy');
      expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
      for (const name of a.tensors.keys()) expect(b.read(name)).toEqual(a.read(name));
    } finally {
      a.close();
      b.close();
    }
  });

  it('reads safetensors', () => {
    const ck = openCheckpoint(join(FIX, 'hf-tiny.safetensors'));
    try {
      expect(ck.format).toBe('safetensors');
      expect(ck.tensors.get('vision_model.embeddings.patch_embedding.weight')).toMatchObject({ dtype: 'float32', shape: [32, 3, 16, 16] });
      expect(ck.read('text_model.embeddings.token_embedding.weight')).toHaveLength(49408 * 4);
    } finally {
      ck.close();
    }
  });

  it('unwraps {"state_dict": …} with module. prefixes, and HarMA\'s {"model": …} with model. prefixes', () => {
    const nested = openCheckpoint(join(FIX, 'openclip-tiny-gelu-nested.pt'));
    const harma = openCheckpoint(join(FIX, 'harma-tiny.pt'));
    try {
      expect(nested.unwrapped.join('; ')).toMatch(/under "state_dict".*"module\." prefix/);
      expect(nested.tensors.has('visual.conv1.weight')).toBe(true);
      expect(harma.unwrapped.join('; ')).toMatch(/under "model".*"model\." prefix/);
      expect(harma.tensors.has('transformer.resblocks.0.mmadapter.BiShareAdapterxx.l1.weight')).toBe(true);
      expect(harma.tensors.has('temp')).toBe(true);
    } finally {
      nested.close();
      harma.close();
    }
  });
});

describe('the restricted unpickler never runs code', () => {
  it('refuses the malicious fixtures (os.system via __reduce__, as a .pt zip and as a legacy pickle) and runs nothing', () => {
    rmSync(MARKER, { force: true });
    for (const f of ['malicious.pt', 'malicious-legacy.pt']) {
      const raw = readFileSync(join(FIX, f));
      // The fixture really is a code-running pickle: it names posix.system (os.system on Linux) and a command.
      expect(raw.includes(Buffer.from('system'))).toBe(true);
      expect(raw.includes(Buffer.from('touch /tmp/kestrel-malicious-pickle-ran'))).toBe(true);
      const err = refusal(() => openCheckpoint(join(FIX, f)));
      expect(err.message).toMatch(/posix\.system/);
      expect(err.message).toMatch(/refused/);
      expect(err.hint).toMatch(/state_dict|safetensors/);
    }
    expect(existsSync(MARKER)).toBe(false);
  });

  it('refuses every global outside the allow-list, however it is reached', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['GLOBAL builtins.eval', pickleOf("cbuiltins\neval\n(S'1+1'\ntR."), /builtins\.eval/],
      ['STACK_GLOBAL subprocess.Popen', Buffer.concat([Buffer.from([0x80, 4, 0x8c, 10]), Buffer.from('subprocess'), Buffer.from([0x8c, 5]), Buffer.from('Popen'), Buffer.from([0x93, 0x2e])]), /subprocess\.Popen/],
      ['INST', pickleOf("(S'ls'\nisubprocess\ncall\n."), /subprocess\.call/],
      ['a callable smuggled into an allowed rebuild function', pickleOf("ctorch._tensor\n_rebuild_from_type_v2\n(cbuiltins\nexec\n"), /builtins\.exec/],
      ['extension registry', Buffer.from([0x80, 2, 0x82, 1, 0x2e]), /extension registry/],
    ];
    for (const [what, bytes, re] of cases) {
      const err = refusal(() => unpickle(bytes, noStorage));
      expect(err.message, what).toMatch(re);
    }
  });

  it('objects beside the weights (argparse.Namespace, numpy scalars) are refused by default, skipped as inert data on request', () => {
    const file = join(FIX, 'with-metadata.pt');
    const err = refusal(() => openCheckpoint(file));
    expect(err.message).toMatch(/holds an object of class argparse\.Namespace/);
    expect(err.hint).toMatch(/--skip-foreign-objects/);
    const ck = openCheckpoint(file, { skipForeignObjects: true });
    try {
      expect(ck.foreignObjects).toEqual(['argparse.Namespace', 'numpy._core.multiarray.scalar', 'numpy.dtype']);
      expect(Array.from(ck.read('visual.proj'))).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      ck.close();
    }
    // Skipping never extends to globals that exist to run code.
    rmSync(MARKER, { force: true });
    expect(refusal(() => openCheckpoint(join(FIX, 'malicious.pt'), { skipForeignObjects: true })).message).toMatch(/posix\.system.*may be malicious/);
    expect(refusal(() => unpickle(pickleOf("cbuiltins\neval\n(S'1+1'\ntR."), { ...noStorage, foreignObjects: new Set() })).message).toMatch(/builtins\.eval/);
    expect(existsSync(MARKER)).toBe(false);
  });

  it('allows only the globals a state dict needs', () => {
    const names = [...ALLOWED_GLOBALS.keys()];
    expect(names).toContain('collections.OrderedDict');
    expect(names).toContain('torch._utils._rebuild_tensor_v2');
    expect(names.every((n) => n.startsWith('torch.') || n === 'collections.OrderedDict' || n === '_codecs.encode')).toBe(true);
    expect(names.some((n) => /^(builtins|os|posix|subprocess|nt|sys|importlib|runpy)\./.test(n))).toBe(false);
  });

  it('reads plain data: dicts, lists, numbers, strings, booleans, memo', () => {
    // pickle.dumps({'a': [1, 2.5, 'x', True, None], 'b': -70000}, protocol=2)
    const bytes = Buffer.from('80027d71002858010000006171015d7102284b014740040000000000005801000000787103884e6558010000006271044a90eefeff752e', 'hex');
    const { value } = unpickle(bytes, noStorage);
    expect(value).toBeInstanceOf(Map);
    const m = value as Map<string, unknown>;
    expect(m.get('a')).toEqual([1, 2.5, 'x', true, null]);
    expect(m.get('b')).toBe(-70000);
  });
});

describe('bad files', () => {
  it('an empty file, a truncated zip, a truncated safetensors file and a non-checkpoint are clear errors', () => {
    const empty = join(dir, 'empty.pt');
    writeFileSync(empty, '');
    expect(refusal(() => openCheckpoint(empty)).message).toMatch(/is empty/);

    const whole = readFileSync(join(FIX, 'openclip-tiny-fp16.pt'));
    const cut = join(dir, 'cut.pt');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const e1 = refusal(() => openCheckpoint(cut));
    expect(e1.message).toMatch(/not a complete zip archive/);
    expect(e1.hint).toMatch(/truncated/);

    const st = readFileSync(join(FIX, 'hf-tiny.safetensors'));
    const cutSt = join(dir, 'cut.safetensors');
    writeFileSync(cutSt, st.subarray(0, st.length - 1000));
    expect(refusal(() => openCheckpoint(cutSt)).message).toMatch(/truncated: tensor .* lies past the end/);

    const text = join(dir, 'notes.pt');
    writeFileSync(text, 'just some text, not weights');
    expect(refusal(() => openCheckpoint(text)).message).toMatch(/not a checkpoint Kestrel can read/);
  });

  it('an unsupported dtype is named when the tensor is read', () => {
    const file = join(dir, 'int64.safetensors');
    writeFileSync(file, safetensorsBytes({ 'visual.proj': { dtype: 'I64', shape: [2], data: new Uint8Array(new BigInt64Array([1n, 2n]).buffer) } }));
    const ck = openCheckpoint(file);
    try {
      expect(() => ck.read('visual.proj')).toThrow(/visual\.proj is stored as int64/);
    } finally {
      ck.close();
    }
  });
});
