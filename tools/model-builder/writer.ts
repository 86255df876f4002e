import { endianness } from 'node:os';
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DecoderGraph, WeightInitializer } from './decoder-graph.js';
import { CONTRIB_DOMAIN, onnx, rawBytes, type Onnx } from './graph.js';
import { elementCount, type QuantisedWeight, type WeightSource } from './weights.js';

export const IR_VERSION = 8;
export const OPSET = 17;
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
  const read = initializerReader(weights);
  return externalData ? writeExternal(graph, read, modelPath) : writeInline(graph, read, modelPath);
}

function modelHeader(graph: DecoderGraph): Onnx.IModelProto {
  const contrib = graph.nodes.some((n) => n.domain === CONTRIB_DOMAIN);
  return {
    irVersion: IR_VERSION,
    producerName: 'bioner-stream model-builder',
    opsetImport: [{ domain: '', version: OPSET }, ...(contrib ? [{ domain: CONTRIB_DOMAIN, version: 1 }] : [])],
  };
}

const { DataType } = onnx.TensorProto;
const dataTypeOf = (init: WeightInitializer): number =>
  init.part === 'quant' ? DataType.UINT8 : init.part === 'int8' ? DataType.INT8 : DataType.FLOAT;
export const byteLengthOf = (init: WeightInitializer): number =>
  elementCount(init.shape) * (dataTypeOf(init) === DataType.FLOAT ? Float32Array.BYTES_PER_ELEMENT : 1);

type InitializerReader = (init: WeightInitializer) => Promise<Uint8Array>;

/**
 * The bytes of each initializer, checked against its shape. The parts of a quantised
 * weight are consecutive initializers, so the last quantised weight read is kept for them.
 */
function initializerReader(weights: WeightSource): InitializerReader {
  let last: { parameter: string; weight: QuantisedWeight } | undefined;
  const quantised = async (parameter: string): Promise<QuantisedWeight> => {
    if (last?.parameter !== parameter) {
      if (!weights.readQuantised) throw new Error(`${parameter}: the weight source cannot read quantised weights`);
      last = { parameter, weight: await weights.readQuantised(parameter) };
    }
    return last.weight;
  };
  return async (init) => {
    let bytes: Uint8Array | undefined;
    if (init.part === 'float') {
      const { data, shape } = await weights.read(init.parameter);
      if (shape.join() !== init.shape.join()) throw new Error(`${init.name}: expected shape [${init.shape}], got [${shape}]`);
      bytes = rawBytes(data);
    } else {
      const weight = await quantised(init.parameter);
      const part = init.part === 'quant' || init.part === 'int8' ? weight.data : weight[init.part];
      bytes = part && (part instanceof Uint8Array ? part : rawBytes(part));
    }
    if (bytes?.length !== byteLengthOf(init)) {
      throw new Error(`${init.name}: expected ${byteLengthOf(init)} bytes for shape [${init.shape}], got ${bytes?.length ?? 'none'}`);
    }
    return bytes;
  };
}

function graphProto(graph: DecoderGraph, initializer: Onnx.ITensorProto[]): Onnx.IGraphProto {
  return { name: 'decoder', node: graph.nodes, input: graph.inputs, output: graph.outputs, initializer };
}

async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, done, Math.min(bytes.length - done, MAX_WRITE));
    done += bytesWritten;
  }
}

async function writeExternal(graph: DecoderGraph, read: InitializerReader, modelPath: string): Promise<WrittenModel> {
  const location = `${basename(modelPath)}_data`;
  const dataPath = join(dirname(modelPath), location);
  const initializers: Onnx.ITensorProto[] = [...graph.constants];
  let offset = 0;
  const file = await open(dataPath, 'w');
  try {
    for (const init of graph.initializers) {
      const bytes = await read(init);
      const aligned = Math.ceil(offset / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
      if (aligned > offset) await writeAll(file, new Uint8Array(aligned - offset));
      await writeAll(file, bytes);
      initializers.push({
        name: init.name,
        dims: [...init.shape],
        dataType: dataTypeOf(init),
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
  const encoded = onnx.ModelProto.encode({ ...modelHeader(graph), graph: graphProto(graph, initializers) }).finish();
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

async function writeInline(graph: DecoderGraph, read: InitializerReader, modelPath: string): Promise<WrittenModel> {
  // Everything but the weight bytes is encoded up front, which fixes every length prefix.
  const head = onnx.ModelProto.encode(modelHeader(graph)).finish();
  const core = onnx.GraphProto.encode(graphProto(graph, graph.constants)).finish();
  const tensors = graph.initializers.map((init) => {
    const header = onnx.TensorProto.encode({ name: init.name, dims: [...init.shape], dataType: dataTypeOf(init) }).finish();
    const dataBytes = byteLengthOf(init);
    const dataPrefix = fieldPrefix(TENSOR_RAW_DATA_TAG, dataBytes);
    const length = header.length + dataPrefix.length + dataBytes;
    const prefix = fieldPrefix(GRAPH_INITIALIZER_TAG, length);
    return { init, prefix, header, dataPrefix, fieldBytes: prefix.length + length };
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
      await writeAll(file, await read(t.init));
    }
  } finally {
    await file.close();
  }
  return { modelPath, modelBytes, dataBytes: 0 };
}
