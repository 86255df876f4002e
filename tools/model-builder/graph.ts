import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

// onnx-proto is CommonJS without detectable named exports, so destructure the default.
export const { onnx } = onnxProto;
export type { Onnx };

const { DataType } = onnx.TensorProto;

export const CONTRIB_DOMAIN = 'com.microsoft';
const { AttributeType } = onnx.AttributeProto;

export const intAttr = (name: string, i: number): Onnx.IAttributeProto => ({ name, i, type: AttributeType.INT });
export const floatAttr = (name: string, f: number): Onnx.IAttributeProto => ({ name, f, type: AttributeType.FLOAT });
export const intsAttr = (name: string, ints: number[]): Onnx.IAttributeProto => ({
  name,
  ints,
  type: AttributeType.INTS,
});

/** Little-endian bytes of a typed array, without copying (ONNX raw_data is little-endian). */
export function rawBytes(array: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * Accumulates nodes and small constant initializers. Every node gets a
 * readable, unique output name derived from a scope prefix, which makes ORT
 * profiles and error messages point at the right layer.
 */
export class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly constants: Onnx.ITensorProto[] = [];
  private readonly constantNames = new Map<string, string>();
  private counter = 0;
  scope = '';

  /** Adds a node with one output and returns the output name. */
  op(opType: string, inputs: string[], attribute: Onnx.IAttributeProto[] = [], output?: string): string {
    return this.opMulti(opType, inputs, 1, attribute, output ? [output] : undefined)[0]!;
  }

  opMulti(
    opType: string,
    inputs: string[],
    outputCount: number,
    attribute: Onnx.IAttributeProto[] = [],
    outputs?: string[],
  ): string[] {
    const name = `${this.scope}${opType}_${this.counter++}`;
    const output = outputs ?? Array.from({ length: outputCount }, (_, i) => `${name}/out${i}`);
    this.nodes.push({ name, opType, input: inputs, output, attribute });
    return output;
  }

  /** A node of ONNX Runtime's com.microsoft operator domain. */
  contribOp(opType: string, inputs: string[], attribute: Onnx.IAttributeProto[] = []): string {
    const output = this.op(opType, inputs, attribute);
    this.nodes.at(-1)!.domain = CONTRIB_DOMAIN;
    return output;
  }

  /** An int64 constant; identical constants are shared. Pass dims [] for a scalar. */
  int64(values: number[], dims: number[] = [values.length]): string {
    return this.constant('i64', values, dims, () => ({
      dataType: DataType.INT64,
      rawData: rawBytes(BigInt64Array.from(values, (v) => BigInt(v))),
    }));
  }

  float32(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    return this.constant('f32', Array.from(values), dims, () => ({
      dataType: DataType.FLOAT,
      rawData: rawBytes(Float32Array.from(values)),
    }));
  }

  private constant(
    kind: string,
    values: number[],
    dims: number[],
    encode: () => Pick<Onnx.ITensorProto, 'dataType' | 'rawData'>,
  ): string {
    const key = `${kind}[${dims.join(',')}]:${values.join(',')}`;
    let name = this.constantNames.get(key);
    if (!name) {
      name = `const_${this.constants.length}`;
      this.constants.push({ name, dims, ...encode() });
      this.constantNames.set(key, name);
    }
    return name;
  }
}

/** A graph input/output description; string dims are symbolic. */
export function valueInfo(name: string, elemType: number, dims: (number | string)[]): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
