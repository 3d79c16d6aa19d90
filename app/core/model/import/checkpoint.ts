/**
 * Checkpoint files as a table of named tensors whose bytes stay on disk until asked for:
 * PyTorch zip archives (.pt/.pth/.bin), PyTorch's legacy (pre-1.6) format, and safetensors.
 * Wrappers are unwrapped ({"state_dict": …}, {"model": …}, `module.` prefixes) and reported.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { KestrelError } from '../../../contract/index.js';
import { decodeHalf } from '../../vectors/index.js';
import { DTYPE_SIZE, storageFromPid, unpickle, type DType, type StorageRef, type TensorRef } from './pickle.js';
import { ZipFile, corrupt, readExact } from './zip.js';

export type CheckpointFormat = 'pytorch-zip' | 'pytorch-legacy' | 'safetensors';

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Bytes this tensor occupies in the file. */
  bytes: number;
}

export interface Checkpoint {
  file: string;
  format: CheckpointFormat;
  fileBytes: number;
  /** Weights by (unwrapped) name. */
  tensors: Map<string, TensorInfo>;
  /** What was unwrapped to reach the weights, in words (empty when the file is a plain state dict). */
  unwrapped: string[];
  /** Classes of objects skipped as inert placeholders (only with skipForeignObjects). */
  foreignObjects: string[];
  /** Reads one tensor as float32 (row-major, contiguous). */
  read(name: string): Float32Array;
  close(): void;
}

const FLOAT_DTYPES: ReadonlySet<DType> = new Set(['float32', 'float16', 'bfloat16', 'float64']);

export function isSupportedDtype(dtype: DType): boolean {
  return FLOAT_DTYPES.has(dtype);
}

/** Raw little-endian bytes of `dtype` → float32 values. */
export function toFloat32(bytes: Buffer, dtype: DType, name: string, file: string): Float32Array {
  const n = bytes.length / DTYPE_SIZE[dtype];
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : Buffer.from(bytes);
  switch (dtype) {
    case 'float32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, n);
    case 'float16':
      return decodeHalf(new Uint16Array(aligned.buffer, aligned.byteOffset, n));
    case 'bfloat16': {
      const h = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = (h[i] ?? 0) << 16;
      return out;
    }
    case 'float64':
      return Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, n));
    default:
      throw new KestrelError({
        code: 'invalid_input',
        message: `${file}: tensor ${name} is stored as ${dtype}; Kestrel imports float32, float16, bfloat16 and float64 weights.`,
        file,
        hint: 'Convert the checkpoint to floating-point weights (quantised checkpoints cannot be imported).',
      });
  }
}

function numelOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A strided view → its values in row-major order, reading only the storage span it covers. */
function readStrided(t: TensorRef, readStorage: (s: StorageRef, byteOffset: number, byteLength: number) => Buffer, name: string, file: string): Float32Array {
  const es = DTYPE_SIZE[t.storage.dtype];
  const n = numelOf(t.shape);
  if (n === 0) return new Float32Array(0);
  let contiguous = true;
  let expect = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if ((t.shape[d] ?? 1) !== 1 && t.stride[d] !== expect) contiguous = false;
    expect *= t.shape[d] ?? 1;
  }
  let span = 1;
  for (let d = 0; d < t.shape.length; d++) span += ((t.shape[d] ?? 1) - 1) * (t.stride[d] ?? 0);
  if (t.offset + span > t.storage.numel && t.storage.numel > 0) {
    throw corrupt(file, `${file}: tensor ${name} reaches past the end of its storage.`, 'The checkpoint is damaged.');
  }
  const values = toFloat32(readStorage(t.storage, t.offset * es, span * es), t.storage.dtype, name, file);
  if (contiguous) return values.length === n ? values : values.slice(0, n);
  const out = new Float32Array(n);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += (idx[d] ?? 0) * (t.stride[d] ?? 0);
    out[i] = values[src] ?? 0;
    for (let d = idx.length - 1; d >= 0; d--) {
      idx[d] = (idx[d] ?? 0) + 1;
      if ((idx[d] ?? 0) < (t.shape[d] ?? 1)) break;
      idx[d] = 0;
    }
  }
  return out;
}

const WRAPPER_KEYS = ['state_dict', 'model', 'module', 'model_state_dict', 'net', 'network', 'params'];

function isTensor(v: unknown): v is TensorRef {
  return !!v && typeof v === 'object' && (v as TensorRef).kind === 'tensor';
}

/** Finds the dict of tensors inside whatever was pickled. */
function findStateDict(root: unknown, file: string, unwrapped: string[]): Map<string, TensorRef> {
  let current = root;
  for (let depth = 0; depth < 4; depth++) {
    if (!(current instanceof Map)) break;
    const tensors = [...current.values()].filter(isTensor).length;
    if (tensors > 0 && tensors >= current.size / 2) {
      const out = new Map<string, TensorRef>();
      for (const [k, v] of current) if (typeof k === 'string' && isTensor(v)) out.set(k, v);
      return out;
    }
    const key = WRAPPER_KEYS.find((k) => current instanceof Map && current.get(k) instanceof Map);
    if (!key) break;
    unwrapped.push(`the weights were under "${key}"`);
    current = current.get(key);
  }
  const keys = current instanceof Map ? [...current.keys()].slice(0, 8).map(String).join(', ') : typeof current;
  throw new KestrelError({
    code: 'invalid_input',
    message: `${file} holds no state dict of tensors Kestrel can find (top-level keys: ${keys}).`,
    file,
    hint: 'Pass a checkpoint holding the model weights (a state dict, or a dict with "state_dict" or "model").',
  });
}

function stripPrefixes<T>(tensors: Map<string, T>, unwrapped: string[]): Map<string, T> {
  let out = tensors;
  for (const prefix of ['module.', '_orig_mod.']) {
    if (out.size && [...out.keys()].every((k) => k.startsWith(prefix))) {
      out = new Map([...out].map(([k, v]) => [k.slice(prefix.length), v]));
      unwrapped.push(`the "${prefix}" prefix was removed from every key`);
    }
  }
  const roots = ['visual.', 'vision_model.', 'text_model.', 'transformer.'];
  const hasRoot = [...out.keys()].some((k) => roots.some((r) => k.startsWith(r)));
  if (!hasRoot && [...out.keys()].some((k) => k.startsWith('model.'))) {
    out = new Map([...out].map(([k, v]) => [k.startsWith('model.') ? k.slice(6) : k, v]));
    unwrapped.push('the "model." prefix was removed (a wrapper module, e.g. HarMA)');
  }
  return out;
}

export interface OpenOptions {
  /** Skip objects of classes outside the allow-list (never those whose modules run code); see pickle.ts. */
  skipForeignObjects?: boolean;
}

/** A pickled state dict and how to reach its storages. */
interface Pickled {
  foreign: Set<string> | undefined;
  file: string;
  format: CheckpointFormat;
  fileBytes: number;
  root: unknown;
  readStorage: (s: StorageRef, byteOffset: number, byteLength: number) => Buffer;
  close: () => void;
}

function fromPickled({ foreign, file, format, fileBytes, root, readStorage, close }: Pickled): Checkpoint {
  const unwrapped: string[] = [];
  const refs = stripPrefixes(findStateDict(root, file, unwrapped), unwrapped);
  const tensors = new Map<string, TensorInfo>();
  for (const [name, t] of refs) tensors.set(name, { name, dtype: t.storage.dtype, shape: t.shape, bytes: numelOf(t.shape) * DTYPE_SIZE[t.storage.dtype] });
  return {
    file,
    format,
    fileBytes,
    tensors,
    unwrapped,
    foreignObjects: [...(foreign ?? [])],
    read(name) {
      const t = refs.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      return readStrided(t, readStorage, name, file);
    },
    close,
  };
}

function openZip(file: string, fd: number, size: number, foreign: Set<string> | undefined): Checkpoint {
  const zip = ZipFile.open(file, fd);
  const pkl = [...zip.entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (!pkl) {
    if ([...zip.entries.keys()].some((n) => n.endsWith('constants.pkl') || n.includes('/code/'))) {
      throw new KestrelError({
        code: 'invalid_input',
        message: `${file} is a TorchScript archive (torch.jit), not a state dict.`,
        file,
        hint: 'Export the weights from Python with torch.save(model.state_dict(), path), or use the open_clip / Hugging Face release of the same model.',
      });
    }
    throw corrupt(file, `${file} is a zip archive but not a PyTorch checkpoint (no data.pkl inside).`, 'Pass a .pt/.pth/.bin file written by torch.save, or a .safetensors file.');
  }
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const byteorder = zip.entries.has(`${prefix}byteorder`) ? zip.read(`${prefix}byteorder`).toString('latin1').trim() : 'little';
  if (byteorder !== 'little') {
    throw new KestrelError({ code: 'invalid_input', message: `${file} was saved on a big-endian machine; Kestrel reads little-endian checkpoints.`, file, hint: 'Re-save it on a little-endian machine (x86, ARM).' });
  }
  const { value } = unpickle(zip.read(pkl), { file, persistentLoad: (pid) => storageFromPid(pid, file), ...(foreign ? { foreignObjects: foreign } : {}) });
  return fromPickled({
    foreign,
    file,
    format: 'pytorch-zip',
    fileBytes: size,
    root: value,
    readStorage: (s, off, len) => zip.read(`${prefix}data/${s.key}`, off, len),
    close: () => zip.close(),
  });
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function openLegacy(file: string, fd: number, size: number, foreign: Set<string> | undefined): Checkpoint {
  // The legacy format is a run of pickles (magic, protocol, system info, the object, the storage keys)
  // followed by each storage as an int64 element count and its bytes. The pickles are small; read the
  // head of the file generously and grow it if they do not fit.
  let headLength = Math.min(size, 1 << 20);
  for (;;) {
    const head = readExact(fd, headLength, 0, file);
    try {
      const opts = { file, persistentLoad: (pid: unknown[]) => storageFromPid(pid, file), ...(foreign ? { foreignObjects: foreign } : {}) };
      const magic = unpickle(head, opts, 0);
      if (BigInt(magic.value as number | bigint) !== LEGACY_MAGIC) throw new Error('not a legacy checkpoint');
      const proto = unpickle(head, opts, magic.end);
      const sys = unpickle(head, opts, proto.end);
      const storages = new Map<string, StorageRef>();
      const main = unpickle(head, { ...opts, persistentLoad: (pid) => {
        const s = storageFromPid(pid, file);
        const known = storages.get(s.key);
        if (known) return known;
        storages.set(s.key, s);
        return s;
      } }, sys.end);
      const keys = unpickle(head, opts, main.end);
      if (!Array.isArray(keys.value)) throw new Error('no storage key list');
      const offsets = new Map<string, number>();
      let at = keys.end;
      for (const k of keys.value as unknown[]) {
        const s = storages.get(String(k));
        if (!s) throw new Error(`storage ${String(k)} is not used`);
        const count = Number(readExact(fd, 8, at, file).readBigInt64LE(0));
        offsets.set(s.key, at + 8);
        at += 8 + count * DTYPE_SIZE[s.dtype];
      }
      if (at > size) throw corrupt(file, `${file} is truncated: its storages need ${at} bytes, the file has ${size}.`, 'Download or copy the checkpoint again.');
      return fromPickled({
        foreign,
        file,
        format: 'pytorch-legacy',
        fileBytes: size,
        root: main.value,
        readStorage: (s, off, len) => readExact(fd, len, (offsets.get(s.key) ?? 0) + off, file),
        close: () => closeSync(fd),
      });
    } catch (err) {
      const ended = err instanceof KestrelError && /ends early/.test(err.message);
      if (ended && headLength < size) {
        headLength = Math.min(size, headLength * 4);
        continue;
      }
      if (err instanceof KestrelError) throw err;
      throw corrupt(file, `${file} is not a PyTorch checkpoint Kestrel can read (${(err as Error).message}).`, 'Pass a file written by torch.save, or a .safetensors file.');
    }
  }
}

const SAFETENSORS_DTYPES: Record<string, DType> = {
  F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};

function openSafetensors(file: string, fd: number, size: number): Checkpoint {
  const bad = (why: string): KestrelError => corrupt(file, `${file} is not a valid safetensors file (${why}).`, 'The file is truncated or damaged: download or copy it again.');
  const n = Number(readExact(fd, 8, 0, file).readBigUInt64LE(0));
  if (n <= 0 || 8 + n > size) throw bad('its header length does not fit the file');
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(readExact(fd, n, 8, file).toString('utf8')) as typeof header;
  } catch {
    throw bad('its header is not JSON');
  }
  const base = 8 + n;
  const found = new Map<string, { info: TensorInfo; at: number }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const dtype = SAFETENSORS_DTYPES[t.dtype] ?? 'unsupported';
    const [b, e] = t.data_offsets;
    if (base + e > size) throw corrupt(file, `${file} is truncated: tensor ${name} lies past the end of the file.`, 'Download or copy the checkpoint again.');
    found.set(name, { info: { name, dtype, shape: t.shape, bytes: e - b }, at: base + b });
  }
  const unwrapped: string[] = [];
  const located = stripPrefixes(found, unwrapped);
  return {
    file,
    format: 'safetensors',
    fileBytes: size,
    tensors: new Map([...located].map(([k, { info }]) => [k, { ...info, name: k }])),
    unwrapped,
    foreignObjects: [],
    read(name) {
      const t = located.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      return toFloat32(readExact(fd, t.info.bytes, t.at, file), t.info.dtype, name, file);
    },
    close: () => closeSync(fd),
  };
}

/** Opens a checkpoint file of any supported format; the format is recognised from its bytes. */
export function openCheckpoint(file: string, options: OpenOptions = {}): Checkpoint {
  const foreign = options.skipForeignObjects ? new Set<string>() : undefined;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new KestrelError({ code: 'not_found', message: `Cannot open ${file}: ${(err as Error).message}`, file, hint: 'Check the path to the checkpoint.' });
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new KestrelError({ code: 'invalid_input', message: `${file} is empty.`, file, hint: 'The download or copy did not complete: fetch the checkpoint again.' });
    const head = readExact(fd, Math.min(size, 16), 0, file);
    if (head.readUInt32LE(0) === 0x04034b50 || (size >= 22 && head.readUInt32LE(0) === 0x06054b50)) return openZip(file, fd, size, foreign);
    if (head[0] === 0x80) return openLegacy(file, fd, size, foreign);
    if (size >= 10 && head[8] === 0x7b) return openSafetensors(file, fd, size);
    throw new KestrelError({
      code: 'invalid_input',
      message: `${file} is not a checkpoint Kestrel can read (neither a PyTorch file nor safetensors).`,
      file,
      hint: 'Pass a .pt/.pth/.bin file written by torch.save, or a .safetensors file.',
    });
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed by the reader that failed
    }
    throw err;
  }
}
