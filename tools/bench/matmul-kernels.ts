// Which ONNX Runtime CPU kernel to put the weights in: one product x[M, K] · Wᵀ of SmolLM2-135M's
// shapes (an MLP projection, the LM head) as float32 Gemm, MatMulNBits with 8-bit blocks of 32
// (accuracy_level 4, int8 activations per block), DynamicQuantizeMatMul (int8 per output, uint8
// activations per tensor) and bfloat16 MatMul, which reports why it does not load.
//
// `bioner-stream bench-matmul [--threads 1,2]`.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { list, parseCommandLine } from '../../src/cli/options.js';
import { CONTRIB_DOMAIN, intAttr, onnx, rawBytes, valueInfo, type Onnx } from '../model-builder/graph.js';
import { quantiseInt8PerOutput } from '../model-builder/int8-weights.js';
import { IR_VERSION, OPSET } from '../model-builder/writer.js';
import { mulberry32 } from '../../src/seeded-random.js';
import { percentile } from './measure.js';

const { DataType } = onnx.TensorProto;
const K = 576;
const OUTPUTS = { 'MLP up (N 1536)': 1536, 'LM head (N 49152)': 49_152 };
/** Rows: a prefill of 8 × 110 tokens, decode steps of 8 and 16 rows. */
const ROWS = [880, 8, 16];

function model(n: number, nodes: Onnx.INodeProto[], initializer: Onnx.ITensorProto[]): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }, { domain: CONTRIB_DOMAIN, version: 1 }],
    graph: { name: 'product', node: nodes, initializer, input: [valueInfo('x', DataType.FLOAT, ['m', K])], output: [valueInfo('y', DataType.FLOAT, ['m', n])] },
  }).finish();
}

/** The same [n, K] weight in each kernel's form. */
function kernels(n: number, w: Float32Array): Record<string, Uint8Array> {
  const float = (name: string, data: Float32Array, dims: number[]) => ({ name, dims, dataType: DataType.FLOAT, rawData: rawBytes(data) });
  // MatMulNBits, 8 bits: w = scale · (q − 128) per block of 32 inputs.
  const blocks = K / 32;
  const q8 = new Uint8Array(n * K);
  const blockScales = new Float32Array(n * blocks);
  for (let b = 0; b < n * blocks; b++) {
    const block = w.subarray(b * 32, (b + 1) * 32);
    const scale = block.reduce((max, v) => Math.max(max, Math.abs(v)), 0) / 127 || 1;
    blockScales[b] = scale;
    block.forEach((v, i) => (q8[b * 32 + i] = Math.round(v / scale) + 128));
  }
  const int8 = quantiseInt8PerOutput({ data: w, shape: [n, K] });
  // bfloat16: the high half of each float32, as MatMul's B [K, n].
  const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
  const bf16 = Uint16Array.from({ length: n * K }, (_, i) => bits[(i % n) * K + Math.floor(i / n)]! >>> 16);
  return {
    'fp32 Gemm': model(n, [{ opType: 'Gemm', input: ['x', 'w'], output: ['y'], attribute: [intAttr('transB', 1)] }], [float('w', w, [n, K])]),
    'MatMulNBits 8-bit': model(n, [{
      opType: 'MatMulNBits', domain: CONTRIB_DOMAIN, input: ['x', 'q', 's'], output: ['y'],
      attribute: [intAttr('K', K), intAttr('N', n), intAttr('bits', 8), intAttr('block_size', 32), intAttr('accuracy_level', 4)],
    }], [{ name: 'q', dims: [n, blocks, 32], dataType: DataType.UINT8, rawData: q8 }, float('s', blockScales, [n * blocks])]),
    DynamicQuantizeMatMul: model(n, [{ opType: 'DynamicQuantizeMatMul', domain: CONTRIB_DOMAIN, input: ['x', 'b', 's'], output: ['y'] }],
      [{ name: 'b', dims: [K, n], dataType: DataType.INT8, rawData: int8.data }, float('s', int8.scales, [n])]),
    'bf16 MatMul': model(n, [
      { opType: 'Cast', input: ['x'], output: ['xb'], attribute: [intAttr('to', DataType.BFLOAT16)] },
      { opType: 'MatMul', input: ['xb', 'wb'], output: ['yb'] },
      { opType: 'Cast', input: ['yb'], output: ['y'], attribute: [intAttr('to', DataType.FLOAT)] },
    ], [{ name: 'wb', dims: [K, n], dataType: DataType.BFLOAT16, rawData: new Uint8Array(bf16.buffer) }]),
  };
}

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream bench-matmul [options]',
  options: {
    threads: list('LIST', 'the intra-op thread counts to time', ['1', '2']),
  },
};

export async function matmulKernelsCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandLine(argv, COMMAND_LINE);
  const random = mulberry32(1);
  console.log('| product | kernel | threads | M 880 ms | M 8 ms | M 16 ms | max error / max |y| |');
  console.log('|---|---|--:|--:|--:|--:|--:|');
  for (const [label, n] of Object.entries(OUTPUTS)) {
    const w = Float32Array.from({ length: n * K }, () => (random() - 0.5) / 12);
    const inputs = ROWS.map((m) => new Tensor('float32', Float32Array.from({ length: m * K }, () => random() * 2 - 1), [m, K]));
    const forms = kernels(n, w);
    for (const threads of values.threads.map(Number)) {
      let reference: Float32Array[] | undefined;
      for (const [kernel, bytes] of Object.entries(forms)) {
        let session: InferenceSession;
        try {
          session = await InferenceSession.create(bytes, { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
        } catch (error) {
          console.log(`| ${label} | ${kernel} | ${threads} | does not load: ${(error as Error).message.split('\n')[0]} | | | |`);
          continue;
        }
        const times: string[] = [];
        const outputs: Float32Array[] = [];
        for (const x of inputs) {
          outputs.push((await session.run({ x })).y!.data as Float32Array);
          const ms: number[] = [];
          for (let rep = 0; rep < (x.dims[0]! > 100 ? 5 : 50); rep++) {
            const started = performance.now();
            await session.run({ x });
            ms.push(performance.now() - started);
          }
          times.push(percentile(ms, 0.5).toFixed(2));
        }
        reference ??= outputs;
        let error = 0;
        let magnitude = 0;
        outputs.forEach((y, i) => y.forEach((v, j) => {
          error = Math.max(error, Math.abs(v - reference![i]![j]!));
          magnitude = Math.max(magnitude, Math.abs(reference![i]![j]!));
        }));
        console.log(`| ${label} | ${kernel} | ${threads} | ${times.join(' | ')} | ${(error / magnitude).toExponential(1)} |`);
        await session.release();
      }
    }
  }
}
