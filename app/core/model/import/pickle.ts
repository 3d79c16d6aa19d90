/**
 * A restricted unpickler: reads the pickle inside a PyTorch checkpoint without ever running code.
 *
 * Python's pickle is a small stack machine whose GLOBAL/REDUCE opcodes import and call any function
 * named in the file (`os.system`, `subprocess.Popen`, `builtins.eval`…): loading an untrusted .pt file
 * with torch.load(weights_only=False) runs whatever it says. Here nothing is imported or called. A
 * GLOBAL is looked up in ALLOWED_GLOBALS, a table of the few names a state dict needs, each mapped to a
 * JavaScript function Kestrel wrote (a tensor becomes a description of where its bytes are). Any other
 * name stops the read at that opcode with an error naming it; so do the opcodes that only serve
 * arbitrary objects (INST, OBJ, extension registry, out-of-band buffers).
 */
import { KestrelError } from '../../../contract/index.js';

export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool' | 'complex64' | 'complex128' | 'unsupported';

export const DTYPE_SIZE: Record<DType, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1, complex64: 8, complex128: 16, unsupported: 1,
};

/** A storage named by a persistent id: its bytes live in the archive (data/<key>) or after the pickle (legacy). */
export interface StorageRef {
  kind: 'storage';
  key: string;
  dtype: DType;
  /** The Python class the file named (e.g. torch.HalfStorage), for messages. */
  typeName: string;
  numel: number;
}

/** A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided view of a storage. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/** An object of a class outside the allow-list, kept as a name only (see UnpickleOptions.foreignObjects). */
export interface ForeignObject {
  kind: 'foreign';
  name: string;
}

/** Modules whose globals exist to run code, read files or reach the network: always refused. */
const NEVER = /^(os|posix|nt|subprocess|sys|builtins|__builtin__|importlib|runpy|pty|shutil|socket|pickle|_pickle|marshal|ctypes|code|codeop|types|functools|operator|io|_io|pathlib|tempfile|multiprocessing|threading|signal|webbrowser|urllib|http|ftplib|smtplib|asyncio|inspect|pydoc|timeit|cProfile|profile|pdb|bdb|trace|distutils|setuptools|pip|torch\.(hub|jit|package|utils\.cpp_extension|_dynamo|_inductor|ops|classes|cuda|backends|distributed|multiprocessing)|numpy\.(ctypeslib|distutils|f2py|testing)|_?posixsubprocess|_thread|gc|site|zipimport)(\.|$)/;

/** A Python global the allow-list knows; calling it runs Kestrel's function, never Python's. */
interface PyGlobal {
  kind: 'global';
  name: string;
  call?: (args: unknown[]) => unknown;
  storage?: DType;
  /** Outside the allow-list, accepted as an inert placeholder. */
  foreign?: boolean;
}

const STORAGE_TYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  ComplexFloatStorage: 'complex64',
  ComplexDoubleStorage: 'complex128',
  // Quantised and float8 storages parse, and are refused with "unsupported dtype" if a needed tensor uses one.
  QInt8Storage: 'unsupported',
  QUInt8Storage: 'unsupported',
  QInt32Storage: 'unsupported',
  Float8_e4m3fnStorage: 'unsupported',
  Float8_e5m2Storage: 'unsupported',
};

function asInts(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw new Error(`${what} is not a tuple`);
  return v.map((x) => {
    const n = typeof x === 'bigint' ? Number(x) : x;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Error(`${what} holds ${String(x)}`);
    return n;
  });
}

function asInt(v: unknown, what: string): number {
  return asInts([v], what)[0] ?? 0;
}

function rebuildTensor(args: unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!storage || (storage as StorageRef).kind !== 'storage') throw new Error('a tensor without a storage');
  return { kind: 'tensor', storage: storage as StorageRef, offset: asInt(offset, 'storage offset'), shape: asInts(size, 'tensor size'), stride: asInts(stride, 'tensor stride') };
}

function callGlobal(fn: unknown, args: unknown[]): unknown {
  const g = fn as PyGlobal;
  if (!g || g.kind !== 'global' || !g.call) throw new Error(`${g?.name ?? 'a value'} cannot be called`);
  return g.call(args);
}

/**
 * Every global a state dict (or a training checkpoint made of dicts, numbers and state dicts) needs.
 * Why each is safe: none of them runs anything; each returns plain data Kestrel defines.
 */
export const ALLOWED_GLOBALS: ReadonlyMap<string, Omit<PyGlobal, 'kind' | 'name'>> = new Map<string, Omit<PyGlobal, 'kind' | 'name'>>([
  // The container state_dict() returns; called with no arguments, filled by SETITEMS.
  ['collections.OrderedDict', { call: () => new Map() }],
  // How torch pickles a tensor: (storage, offset, size, stride, requires_grad, backward_hooks[, metadata]).
  ['torch._utils._rebuild_tensor_v2', { call: rebuildTensor }],
  ['torch._utils._rebuild_tensor', { call: rebuildTensor }],
  // nn.Parameter around a tensor: the tensor is what matters.
  ['torch._utils._rebuild_parameter', { call: (a) => a[0] }],
  ['torch._utils._rebuild_parameter_with_state', { call: (a) => a[0] }],
  // Tensor subclasses (Parameter in newer torch): (func, type, args, state); func must itself be allowed.
  ['torch._tensor._rebuild_from_type_v2', { call: (a) => callGlobal(a[0], (a[2] as unknown[]) ?? []) }],
  ['torch.nn.parameter.Parameter', {}],
  ['torch.Size', { call: (a) => a[0] }],
  // Protocol-2 pickles of `bytes` objects: _codecs.encode(text, 'latin1').
  ['_codecs.encode', { call: (a) => Buffer.from(String(a[0]), 'latin1') }],
  ...Object.entries(STORAGE_TYPES).map(([name, dtype]) => [`torch.${name}`, { storage: dtype }] as const),
]);

export interface UnpickleOptions {
  file: string;
  /** Turns a persistent id (PyTorch: ('storage', type, key, location, numel)) into a value. */
  persistentLoad: (pid: unknown[]) => unknown;
  /**
   * Objects of other classes beside the weights (a training script's argparse.Namespace, a numpy
   * scalar, a YAML config) become inert placeholders instead of stopping the read, and their class
   * names are collected here. Still nothing is imported or called, and globals that only serve to run
   * code (os, subprocess, builtins, …) are refused all the same. Off unless the user asks.
   */
  foreignObjects?: Set<string>;
}

export class PickleRefused extends KestrelError {}

/** Reads one pickle from `data` starting at `start`; returns its value and where it ended. */
// The opcode switch is a table (one case per pickle opcode, in the order of pickletools): clearer whole than split.
// eslint-disable-next-line max-lines-per-function
export function unpickle(data: Uint8Array, options: UnpickleOptions, start = 0): { value: unknown; end: number } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const { file } = options;
  let p = start;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const damaged = (why: string): KestrelError =>
    new KestrelError({ code: 'corrupt_file', message: `${file}: the checkpoint's pickle is damaged (${why} at byte ${p}).`, file, hint: 'The file is truncated or not a PyTorch checkpoint: download or copy it again.' });
  const refuse = (what: string, codeRunning = true): PickleRefused =>
    new PickleRefused({
      code: 'corrupt_file',
      message: codeRunning
        ? `${file}: the checkpoint's pickle asks for ${what}, which a model's weights never need. Kestrel refused to load it: a pickle can run code when it is loaded, and this one may be malicious.`
        : `${file}: the checkpoint's pickle holds ${what}, which is not part of a model's weights; Kestrel only reads objects it knows (it never runs the code a pickle names).`,
      file,
      hint: codeRunning
        ? 'If the file comes from a trusted source, re-save only the weights (torch.save(model.state_dict(), path) or safetensors) and import that.'
        : 'If the file comes from a trusted source, tick "Skip objects that are not weights" (--skip-foreign-objects) to read the weights and skip such objects (training metadata, configs), or re-save only the weights.',
    });
  const need = (n: number): void => {
    if (p + n > buf.length) throw damaged('it ends early');
  };
  const u8 = (): number => (need(1), buf[p++] ?? 0);
  const take = (n: number): Buffer => {
    need(n);
    const out = buf.subarray(p, p + n);
    p += n;
    return out;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, p);
    if (end < 0) throw damaged('a line without its end');
    const s = buf.toString('latin1', p, end);
    p = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= (marks[marks.length - 1] ?? 0))) throw damaged('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw damaged('empty stack');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw damaged('no mark');
    return stack.splice(m);
  };
  const lookup = (module: string, name: string): PyGlobal => {
    const full = `${module}.${name}`;
    const allowed = ALLOWED_GLOBALS.get(full);
    if (!allowed) {
      const foreign = options.foreignObjects;
      if (NEVER.test(module)) throw refuse(`the Python global ${full}`);
      if (!foreign) throw refuse(`an object of class ${full}`, false);
      foreign.add(full);
      const placeholder = (): ForeignObject => ({ kind: 'foreign', name: full });
      return { kind: 'global', name: full, call: placeholder, foreign: true };
    }
    return { kind: 'global', name: full, ...allowed };
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) throw damaged('SETITEM on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const int = (n: number, signed: boolean): number => {
    const b = take(n);
    if (n === 1) return b.readUInt8(0);
    if (n === 2) return b.readUInt16LE(0);
    return signed ? b.readInt32LE(0) : b.readUInt32LE(0);
  };
  const long = (b: Buffer): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] ?? 0);
    if ((b[b.length - 1] ?? 0) & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const size64 = (): number => {
    const v = take(8).readBigUInt64LE(0);
    if (v > BigInt(buf.length)) throw damaged('a length past the end');
    return Number(v);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        take(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) throw damaged('STOP with a stack of ' + stack.length);
        return { value: stack[0], end: p };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) throw damaged('ADDITEMS on something that is not a set');
        for (const x of items) s.add(x);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(int(4, true));
        break;
      case 0x4b: // BININT1
        stack.push(int(1, false));
        break;
      case 0x4d: // BININT2
        stack.push(int(2, false));
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(long(take(int(4, true))));
        break;
      case 0x49: {
        // INT (text): also the protocol-0 booleans 00/01
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number.parseFloat(line()));
        break;
      case 0x47: // BINFLOAT
        stack.push(take(8).readDoubleBE(0));
        break;
      case 0x58: // BINUNICODE
        stack.push(take(int(4, false)).toString('utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(take(u8()).toString('utf8'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(take(size64()).toString('utf8'));
        break;
      case 0x56: // UNICODE (raw-unicode-escape line)
        stack.push(line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))));
        break;
      case 0x54: // BINSTRING
        stack.push(take(int(4, true)).toString('latin1'));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(take(u8()).toString('latin1'));
        break;
      case 0x53: {
        // STRING (quoted)
        const s = line();
        stack.push(s.slice(1, -1));
        break;
      }
      case 0x42: // BINBYTES
        stack.push(Buffer.from(take(int(4, false))));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(Buffer.from(take(u8())));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(Buffer.from(take(size64())));
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new Map();
        setItems(d, items);
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) throw damaged('APPEND to something that is not a list');
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) throw damaged('APPENDS to something that is not a list');
        l.push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(int(4, false), top());
        break;
      case 0x70: // PUT
        memo.set(Number.parseInt(line(), 10), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET
        const key = op === 0x68 ? u8() : op === 0x6a ? int(4, false) : Number.parseInt(line(), 10);
        if (!memo.has(key)) throw damaged(`memo ${key} is not set`);
        stack.push(memo.get(key));
        break;
      }
      case 0x30: // POP
        if (stack.length && marks.length && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(lookup(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw damaged('STACK_GLOBAL without names');
        stack.push(lookup(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!Array.isArray(args)) throw damaged('REDUCE without an argument tuple');
        try {
          stack.push(callGlobal(fn, args));
        } catch (err) {
          if (err instanceof KestrelError) throw err;
          throw damaged((err as Error).message);
        }
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX: only allowed globals reach here; none of them is a class Kestrel instantiates.
        if (op === 0x92) pop();
        pop();
        const cls = pop() as PyGlobal;
        if (cls?.kind === 'global' && cls.foreign) {
          stack.push({ kind: 'foreign', name: cls.name } satisfies ForeignObject);
          break;
        }
        throw refuse(`a new object of ${cls?.name ?? 'an unknown class'}`);
      }
      case 0x62: {
        // BUILD: OrderedDict's __dict__ (_metadata) or a Parameter's state; the state is data, not code.
        pop();
        const target = top();
        const kind = target && typeof target === 'object' ? (target as { kind?: string }).kind : undefined;
        if (!(target instanceof Map) && kind !== 'tensor' && kind !== 'foreign') {
          throw damaged('BUILD on an unexpected value');
        }
        break;
      }
      case 0x51: // BINPERSID
      case 0x50: {
        // PERSID
        const pid = op === 0x51 ? pop() : line();
        if (!Array.isArray(pid)) throw damaged('a persistent id that is not a tuple');
        stack.push(options.persistentLoad(pid));
        break;
      }
      case 0x69: // INST
        throw refuse(`an instance of ${line()}.${line()}`);
      case 0x6f: // OBJ
        throw refuse('an arbitrary object (OBJ)');
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        throw refuse('an object from the copyreg extension registry');
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        throw refuse('an out-of-band buffer');
      default:
        throw damaged(`unknown opcode 0x${op.toString(16)}`);
    }
  }
}

/** PyTorch's persistent ids: ('storage', <storage class>, key, location, numel[, view metadata]). */
export function storageFromPid(pid: unknown[], file: string): StorageRef {
  const [tag, type, key, , numel] = pid;
  const g = type as PyGlobal;
  if (tag !== 'storage' || !g || g.kind !== 'global' || !g.storage || (typeof key !== 'string' && typeof key !== 'number')) {
    throw new KestrelError({ code: 'corrupt_file', message: `${file}: the checkpoint names a storage Kestrel does not understand.`, file, hint: 'Re-save the weights with torch.save(model.state_dict(), path) or as safetensors.' });
  }
  return { kind: 'storage', key: String(key), dtype: g.storage, typeName: g.name, numel: typeof numel === 'bigint' ? Number(numel) : Number(numel ?? 0) };
}
