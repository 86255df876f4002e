// Builds a decoder ONNX model from a config and a weight source.
import type { DecoderConfig } from './config.js';
import { buildDecoderGraph } from './decoder-graph.js';
import { decoderParameters, elementCount, type WeightSource } from './weights.js';
import { byteLengthOf, writeOnnxModel, type WrittenModel } from './writer.js';

/** Bump whenever the emitted graph changes, so cached test models are rebuilt. */
export const BUILDER_VERSION = 2;

/** Above this many weight bytes the builder defaults to a `model.onnx_data` sidecar. */
const EXTERNAL_DATA_THRESHOLD = 1 << 30;

export interface BuildDecoderModelOptions {
  config: DecoderConfig;
  weights: WeightSource;
  /** Destination, e.g. `<model dir>/onnx/model.onnx`. */
  modelPath: string;
  /** Store weights in `<model>.onnx_data`; defaults to true above 1 GiB of weights. */
  externalData?: boolean;
}

export interface BuiltModel extends WrittenModel {
  parameterCount: number;
}

export async function buildDecoderModel(options: BuildDecoderModelOptions): Promise<BuiltModel> {
  const { weights } = options;
  const graph = buildDecoderGraph(options.config, (name) => weights.quantisation?.(name));
  const parameterCount = decoderParameters(options.config).reduce((n, p) => n + elementCount(p.shape), 0);
  const weightBytes = graph.initializers.reduce((n, i) => n + byteLengthOf(i), 0);
  const externalData = options.externalData ?? weightBytes > EXTERNAL_DATA_THRESHOLD;
  const written = await writeOnnxModel(graph, weights, options.modelPath, externalData);
  return { ...written, parameterCount };
}
