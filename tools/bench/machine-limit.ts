// The machine's limit for the benchmark: the best GEMM rate ONNX Runtime reaches here (a one-node
// MatMul graph, threads = cores, best of a few runs), and the FLOPs a decoder spends per token,
// so a run can be stated as a share of what the cores can do.
import { availableParallelism } from 'node:os';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { decoderDims, type DecoderConfig } from '../model-builder/config.js';
import { GraphBuilder, onnx, valueInfo } from '../model-builder/graph.js';
import { IR_VERSION, OPSET } from '../model-builder/writer.js';
import { mulberry32 } from '../../src/seeded-random.js';

export type GemmPrecision = 'fp32' | 'int8';

/** [m, k] × [k, n]. */
export interface GemmShape {
  m: number;
  k: number;
  n: number;
}

/** A large square product, and the default model's MLP up-projection for a prefill of 880 tokens. */
export const GEMM_SHAPES: readonly GemmShape[] = [
  { m: 2048, k: 2048, n: 2048 },
  { m: 880, k: 576, n: 1536 },
];

export interface GemmRate extends GemmShape {
  precision: GemmPrecision;
  /** Best of the runs: 2·m·k·n operations over its seconds. */
  gflops: number;
}

const { DataType } = onnx.TensorProto;

/**
 * Y = A·B as ONNX: MatMul on float32, or MatMulInteger on uint8 × int8 (what ORT's dynamic
 * int8 quantisation runs), B as an input so no constant folding or prepacking favours it.
 */
function gemmModel(precision: GemmPrecision, { m, k, n }: GemmShape): Uint8Array {
  const graph = new GraphBuilder();
  const fp32 = precision === 'fp32';
  graph.op(fp32 ? 'MatMul' : 'MatMulInteger', ['A', 'B'], [], 'Y');
  return onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    producerName: 'bioner-stream machine-limit',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: `gemm_${precision}_${m}x${k}x${n}`,
      node: graph.nodes,
      input: [valueInfo('A', fp32 ? DataType.FLOAT : DataType.UINT8, [m, k]), valueInfo('B', fp32 ? DataType.FLOAT : DataType.INT8, [k, n])],
      output: [valueInfo('Y', fp32 ? DataType.FLOAT : DataType.INT32, [m, n])],
    },
  }).finish();
}

function operands(precision: GemmPrecision, { m, k, n }: GemmShape): { A: Tensor; B: Tensor } {
  const random = mulberry32(1);
  if (precision === 'fp32') {
    const fill = (length: number) => Float32Array.from({ length }, () => random() - 0.5);
    return { A: new Tensor('float32', fill(m * k), [m, k]), B: new Tensor('float32', fill(k * n), [k, n]) };
  }
  return {
    A: new Tensor('uint8', Uint8Array.from({ length: m * k }, () => Math.floor(random() * 256)), [m, k]),
    B: new Tensor('int8', Int8Array.from({ length: k * n }, () => Math.floor(random() * 256) - 128), [k, n]),
  };
}

export interface PeakGemmOptions {
  threads?: number;
  precisions?: readonly GemmPrecision[];
  shapes?: readonly GemmShape[];
  /** Timed runs per shape after one warm-up; the fastest counts. */
  runs?: number;
}

/** The best rate of each (precision, shape), in GFLOPS (GOPS for int8). */
export async function measureGemm(options: PeakGemmOptions = {}): Promise<GemmRate[]> {
  const threads = options.threads ?? availableParallelism();
  const rates: GemmRate[] = [];
  for (const precision of options.precisions ?? ['fp32', 'int8']) {
    for (const shape of options.shapes ?? GEMM_SHAPES) {
      const session = await InferenceSession.create(gemmModel(precision, shape), {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      try {
        const feeds = operands(precision, shape);
        await session.run(feeds);
        let best = Infinity;
        for (let run = 0; run < (options.runs ?? 5); run++) {
          const started = performance.now();
          await session.run(feeds);
          best = Math.min(best, (performance.now() - started) / 1000);
        }
        rates.push({ ...shape, precision, gflops: (2 * shape.m * shape.k * shape.n) / best / 1e9 });
      } finally {
        await session.release();
      }
    }
  }
  return rates;
}

/** The peak: the best fp32 rate over the shapes. */
export const peakGflops = (rates: readonly GemmRate[], precision: GemmPrecision = 'fp32'): number =>
  Math.max(...rates.filter((r) => r.precision === precision).map((r) => r.gflops));

export interface TokenFlops {
  /** q, k, v, o projections and the MLP: 2 FLOPs per multiply-add. */
  layers: number;
  /** The LM head: only for positions whose logits are needed. */
  lmHead: number;
  /** QKᵀ and attention·V against `context` earlier positions. */
  attention: number;
}

/** FLOPs one token costs a decoder of `config` that attends to `context` positions. */
export function flopsPerToken(config: DecoderConfig, context: number): TokenFlops {
  const { headDim } = decoderDims(config);
  const h = config.hidden_size;
  const q = config.num_attention_heads * headDim;
  const kv = config.num_key_value_heads * headDim;
  const perLayer = h * q + 2 * h * kv + q * h + 3 * h * config.intermediate_size;
  return {
    layers: 2 * config.num_hidden_layers * perLayer,
    lmHead: 2 * h * config.vocab_size,
    attention: 2 * 2 * config.num_hidden_layers * config.num_attention_heads * headDim * context,
  };
}
