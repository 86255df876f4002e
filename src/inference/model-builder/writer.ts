import { endianness } from 'node:os';
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DecoderGraph } from './decoder-graph.js';
import { onnx, rawBytes, type Onnx } from './graph.js';
import { elementCount, type ParameterSpec, type WeightSource } from './weights.js';

const IR_VERSION = 8;
const OPSET = 17;
/** Protobuf messages (and so inline ONNX models) cannot exceed 2 GiB. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;
/** External tensors start on page boundaries so ORT can memory-map them. */
const EXTERNAL_ALIGNMENT = 4096;
/** Length-delimited field tags: ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto.raw_data = 9. */
const MODEL_GRAPH_TAG = (7 << 3) | 2;
const GRAPH_INITIALIZER_TAG = (5 << 3) | 2;
const TENSOR_RAW_DATA_TAG = (9 << 3) | 2;
const MAX_WRITE = 1 << 30;

export interface WrittenModel {
  modelPath: string;
  /** Sidecar weights file (`model.onnx_data`) when external data was used. */
  dataPath?: string;
  modelBytes: number;
  dataBytes: number;
}

/**
 * Writes the graph and its weights, reading each weight from the source once
 * and writing it straight to disk, so at most one weight tensor is in memory.
 * Inline weights are framed by hand around protobufjs-encoded headers because
 * protobufjs can only encode a whole message into one buffer.
 */
export async function writeOnnxModel(
  graph: DecoderGraph,
  weights: WeightSource,
  modelPath: string,
  externalData: boolean,
): Promise<WrittenModel> {
  if (endianness() !== 'LE') throw new Error('ONNX raw data is little-endian; big-endian hosts are unsupported');
  await mkdir(dirname(modelPath), { recursive: true });
  return externalData ? writeExternal(graph, weights, modelPath) : writeInline(graph, weights, modelPath);
}

const MODEL_HEADER: Onnx.IModelProto = {
  irVersion: IR_VERSION,
  producerName: 'bioner-stream model-builder',
  opsetImport: [{ domain: '', version: OPSET }],
};

function graphProto(graph: DecoderGraph, initializer: Onnx.ITensorProto[]): Onnx.IGraphProto {
  return { name: 'decoder', node: graph.nodes, input: graph.inputs, output: graph.outputs, initializer };
}

async function readChecked(weights: WeightSource, spec: ParameterSpec): Promise<Uint8Array> {
  const { data, shape } = await weights.read(spec.name);
  if (shape.join() !== spec.shape.join() || data.length !== elementCount(spec.shape)) {
    throw new Error(`${spec.name}: expected shape [${spec.shape}], got [${shape}] with ${data.length} values`);
  }
  return rawBytes(data);
}

async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, done, Math.min(bytes.length - done, MAX_WRITE));
    done += bytesWritten;
  }
}

async function writeExternal(graph: DecoderGraph, weights: WeightSource, modelPath: string): Promise<WrittenModel> {
  const location = `${basename(modelPath)}_data`;
  const dataPath = join(dirname(modelPath), location);
  const initializers: Onnx.ITensorProto[] = [...graph.constants];
  let offset = 0;
  const file = await open(dataPath, 'w');
  try {
    for (const spec of graph.parameters) {
      const bytes = await readChecked(weights, spec);
      const aligned = Math.ceil(offset / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
      if (aligned > offset) await writeAll(file, new Uint8Array(aligned - offset));
      await writeAll(file, bytes);
      initializers.push({
        name: spec.name,
        dims: [...spec.shape],
        dataType: onnx.TensorProto.DataType.FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          { key: 'offset', value: String(aligned) },
          { key: 'length', value: String(bytes.length) },
        ],
      });
      offset = aligned + bytes.length;
    }
  } finally {
    await file.close();
  }
  const encoded = onnx.ModelProto.encode({ ...MODEL_HEADER, graph: graphProto(graph, initializers) }).finish();
  await writeFile(modelPath, encoded);
  return { modelPath, dataPath, modelBytes: encoded.length, dataBytes: offset };
}

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** Tag and length prefix of a length-delimited protobuf field. */
const fieldPrefix = (tag: number, length: number): Uint8Array => Uint8Array.from([tag, ...varint(length)]);

async function writeInline(graph: DecoderGraph, weights: WeightSource, modelPath: string): Promise<WrittenModel> {
  // Everything but the weight bytes is encoded up front, which fixes every length prefix.
  const head = onnx.ModelProto.encode(MODEL_HEADER).finish();
  const core = onnx.GraphProto.encode(graphProto(graph, graph.constants)).finish();
  const tensors = graph.parameters.map((spec) => {
    const header = onnx.TensorProto.encode({
      name: spec.name,
      dims: [...spec.shape],
      dataType: onnx.TensorProto.DataType.FLOAT,
    }).finish();
    const dataBytes = elementCount(spec.shape) * Float32Array.BYTES_PER_ELEMENT;
    const dataPrefix = fieldPrefix(TENSOR_RAW_DATA_TAG, dataBytes);
    const length = header.length + dataPrefix.length + dataBytes;
    const prefix = fieldPrefix(GRAPH_INITIALIZER_TAG, length);
    return { spec, prefix, header, dataPrefix, fieldBytes: prefix.length + length };
  });
  const graphLength = tensors.reduce((sum, t) => sum + t.fieldBytes, core.length);
  const graphPrefix = fieldPrefix(MODEL_GRAPH_TAG, graphLength);
  const modelBytes = head.length + graphPrefix.length + graphLength;
  if (modelBytes > PROTOBUF_LIMIT) {
    throw new Error(`model is ${modelBytes} bytes, over the 2 GiB protobuf limit: use external data`);
  }

  const file = await open(modelPath, 'w');
  try {
    for (const bytes of [head, graphPrefix, core]) await writeAll(file, bytes);
    for (const t of tensors) {
      for (const bytes of [t.prefix, t.header, t.dataPrefix]) await writeAll(file, bytes);
      await writeAll(file, await readChecked(weights, t.spec));
    }
  } finally {
    await file.close();
  }
  return { modelPath, modelBytes, dataBytes: 0 };
}
