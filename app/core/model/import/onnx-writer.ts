/**
 * Writes ONNX ModelProto files over the ONNX protobuf schema (onnx/onnx.proto field numbers), streaming:
 * the small parts (nodes, inputs, outputs) are encoded in memory, the weights are produced one at a time
 * by a callback and written straight to the file. Protobuf needs each message's length before its
 * bytes, and a weight's length is known from its shape and type, so no weight is ever held twice.
 */
import { open } from 'node:fs/promises';

/** TensorProto.DataType values. */
export const TensorType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10 } as const;
export type TensorType = (typeof TensorType)[keyof typeof TensorType];

const TYPE_SIZE: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 10: 2 };

export type AttributeValue = number | string | number[] | { float: number } | { ints: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface OnnxInitializer {
  name: string;
  type: TensorType;
  dims: number[];
  /** Returns exactly numel × element-size bytes, called once while the file is written. */
  produce: () => Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  type: TensorType;
  /** A number is a fixed size, a string a named dynamic dimension. */
  shape: (number | string)[];
}

export interface OnnxModel {
  graphName: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opsets: { domain: string; version: number }[];
  producer: { name: string; version: string };
  metadata?: Record<string, string>;
}

// ---- protobuf wire format ----------------------------------------------------------------------------

function varint(n: number): number[] {
  const out: number[] = [];
  if (n < 0) {
    // int64 two's complement: ten bytes
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 10; i++) {
      out.push(Number(v & 0x7fn) | (i < 9 ? 0x80 : 0));
      v >>= 7n;
    }
    return out;
  }
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

class Encoder {
  private parts: number[] = [];
  private chunks: Buffer[] = [];

  private flush(): void {
    if (this.parts.length) {
      this.chunks.push(Buffer.from(this.parts));
      this.parts = [];
    }
  }

  tag(field: number, wire: number): this {
    this.parts.push(...varint((field << 3) | wire));
    return this;
  }

  int(field: number, v: number): this {
    this.tag(field, 0);
    this.parts.push(...varint(v));
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.parts.push(...b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.parts.push(...varint(data.length));
    this.flush();
    this.chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  message(field: number, m: Encoder): this {
    return this.bytes(field, m.finish());
  }

  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}

function encodeAttribute(name: string, v: AttributeValue): Encoder {
  const a = new Encoder().string(1, name);
  // AttributeProto: f=2, i=3, s=4, floats=7, ints=8, type=20 (FLOAT=1, INT=2, STRING=3, FLOATS=6, INTS=7)
  if (typeof v === 'number') return a.int(3, v).int(20, 2);
  if (typeof v === 'string') return a.string(4, v).int(20, 3);
  if (Array.isArray(v) || 'ints' in v) {
    const ints = Array.isArray(v) ? v : v.ints;
    for (const i of ints) a.int(8, i);
    return a.int(20, 7);
  }
  return a.float(2, v.float).int(20, 1);
}

function encodeNode(n: OnnxNode): Buffer {
  // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7
  const e = new Encoder();
  for (const i of n.inputs) e.string(1, i);
  for (const o of n.outputs) e.string(2, o);
  e.string(3, n.name).string(4, n.op);
  for (const [k, v] of Object.entries(n.attributes ?? {})) e.message(5, encodeAttribute(k, v));
  if (n.domain) e.string(7, n.domain);
  return e.finish();
}

function encodeValueInfo(v: OnnxValueInfo): Buffer {
  // ValueInfoProto{name=1, type=2}; TypeProto{tensor_type=1}; Tensor{elem_type=1, shape=2};
  // TensorShapeProto{dim=1}; Dimension{dim_value=1, dim_param=2}
  const shape = new Encoder();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new Encoder().int(1, d) : new Encoder().string(2, d));
  const tensor = new Encoder().int(1, v.type).message(2, shape);
  return new Encoder().string(1, v.name).message(2, new Encoder().message(1, tensor)).finish();
}

function tensorHeader(t: OnnxInitializer): { head: Buffer; rawLength: number } {
  // TensorProto: dims=1, data_type=2, name=8, raw_data=9
  const rawLength = t.dims.reduce((a, b) => a * b, 1) * (TYPE_SIZE[t.type] ?? 1);
  const e = new Encoder();
  for (const d of t.dims) e.int(1, d);
  e.int(2, t.type).string(8, t.name).tag(9, 2);
  const head = Buffer.concat([e.finish(), Buffer.from(varint(rawLength))]);
  return { head, rawLength };
}

/**
 * Writes `model` to `path` and returns the file's size in bytes. One write is in flight while the next
 * weight is produced (ONNX Runtime-sized files are disk-bound), so at most two weights are held at a time.
 */
export async function writeOnnxModel(path: string, model: OnnxModel): Promise<number> {
  const graph = new Encoder();
  // GraphProto: node=1, name=2, initializer=5, input=11, output=12
  for (const n of model.nodes) graph.bytes(1, encodeNode(n));
  graph.string(2, model.graphName);
  for (const i of model.inputs) graph.bytes(11, encodeValueInfo(i));
  for (const o of model.outputs) graph.bytes(12, encodeValueInfo(o));
  const graphHead = graph.finish();
  const inits = model.initializers.map((t) => ({ t, ...tensorHeader(t) }));
  const initTag = Buffer.from(varint((5 << 3) | 2));
  let graphLength = graphHead.length;
  for (const i of inits) {
    const body = i.head.length + i.rawLength;
    graphLength += initTag.length + varint(body).length + body;
  }
  // ModelProto: ir_version=1, producer_name=2, producer_version=3, graph=7, opset_import=8, metadata_props=14
  const m = new Encoder().int(1, 8).string(2, model.producer.name).string(3, model.producer.version);
  for (const o of model.opsets) m.message(8, new Encoder().string(1, o.domain).int(2, o.version));
  for (const [k, v] of Object.entries(model.metadata ?? {})) m.message(14, new Encoder().string(1, k).string(2, v));
  m.tag(7, 2);
  const modelHead = Buffer.concat([m.finish(), Buffer.from(varint(graphLength))]);

  const file = await open(path, 'w');
  let bytes = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  const put = async (parts: Uint8Array[]): Promise<void> => {
    await inFlight;
    for (const b of parts) bytes += b.length;
    inFlight = file.writev(parts);
  };
  try {
    await put([modelHead, graphHead]);
    for (const i of inits) {
      const raw = i.t.produce();
      if (raw.byteLength !== i.rawLength) throw new Error(`weight ${i.t.name}: ${raw.byteLength} bytes produced, ${i.rawLength} expected`);
      await put([initTag, Buffer.from(varint(i.head.length + i.rawLength)), i.head, raw]);
    }
    await inFlight;
  } finally {
    await inFlight.catch(() => undefined);
    await file.close();
  }
  return bytes;
}
