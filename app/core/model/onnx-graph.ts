/**
 * A small ONNX graph writer over the ONNX protobuf schema (onnx-proto): enough to describe a model
 * as data (inputs, constant tensors, nodes, outputs) and encode the ModelProto that ONNX Runtime
 * loads. Opset 17, IR version 8.
 */
import onnxProto from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';

const { onnx } = onnxProto;

type Dim = number | string;
export type ElemType = 'float32' | 'int64' | 'bool';

const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

function valueInfo(name: string, type: ElemType, shape: Dim[]): O.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttrValue): O.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.FLOATS, floats: value.floats };
}

export class GraphBuilder {
  private readonly nodes: O.INodeProto[] = [];
  private readonly initializers: O.ITensorProto[] = [];
  private readonly inputs: O.IValueInfoProto[] = [];
  private readonly outputs: O.IValueInfoProto[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: ElemType, shape: Dim[]): void {
    this.outputs.push(valueInfo(name, type, shape));
  }

  /** A constant float32 tensor. */
  floats(values: ArrayLike<number>, dims: number[], hint = 'c'): string {
    const name = `${hint}_${this.counter++}`;
    this.initializers.push({ name, dataType: ELEM.float32, dims, floatData: Array.from(values) });
    return name;
  }

  /** A constant int64 tensor. */
  ints(values: ArrayLike<number>, dims: number[], hint = 'i'): string {
    const name = `${hint}_${this.counter++}`;
    this.initializers.push({ name, dataType: ELEM.int64, dims, int64Data: Array.from(values) });
    return name;
  }

  /** Adds a node; returns its output names (one unless `outputs` > 1). */
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, { outputs = 1, name }: { outputs?: number; name?: string | undefined } = {}): string[] {
    const outs = Array.from({ length: outputs }, (_, i) => (name && outputs === 1 ? name : `${type.toLowerCase()}_${this.counter++}${outputs > 1 ? `_${i}` : ''}`));
    this.nodes.push({
      opType: type,
      input: inputs,
      output: outs,
      name: `${type}_${this.counter++}`,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** One-output shorthand. */
  one(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, name?: string): string {
    return this.op(type, inputs, attrs, { name })[0]!;
  }

  encode(docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'kestrel',
      docString,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
