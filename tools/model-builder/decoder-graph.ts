import { decoderDims, ropeInverseFrequencies, type DecoderConfig } from './config.js';
import { GraphBuilder, floatAttr, intAttr, intsAttr, onnx, valueInfo, type Onnx } from './graph.js';
import { decoderParameters, type QuantisationSpec } from './weights.js';

const { DataType } = onnx.TensorProto;

/**
 * Additive mask value for disallowed keys. Finite (float32 lowest, as HF uses)
 * so a fully masked row (a left-padding query) softmaxes to a uniform
 * distribution instead of NaN.
 */
const MASK_VALUE = -3.4028234663852886e38;

/** The int64 scalar input (HF's name) that limits the logits to each row's last positions. */
export const LOGITS_TO_KEEP = 'num_logits_to_keep';

export interface DecoderGraph {
  readonly nodes: Onnx.INodeProto[];
  /** Small graph constants (shapes, axes, inverse RoPE frequencies). */
  readonly constants: Onnx.ITensorProto[];
  readonly inputs: Onnx.IValueInfoProto[];
  readonly outputs: Onnx.IValueInfoProto[];
  /** Weight initializers the graph references, in first-use order. */
  readonly initializers: WeightInitializer[];
}

/**
 * A weight initializer: a float32 HF parameter under its own name, or one part of a
 * block-quantised one (`<name>.quant`, `.scales`, `.offsets`).
 */
export interface WeightInitializer {
  readonly name: string;
  readonly shape: readonly number[];
  /** The HF parameter it is read from. */
  readonly parameter: string;
  /** `quant`: MatMulNBits blocks (uint8); `int8`: DynamicQuantizeMatMul's B. */
  readonly part: 'float' | 'quant' | 'int8' | 'scales' | 'offsets';
}

/** Says, per HF parameter name, whether a linear weight is kept block-quantised. */
export type QuantisationPlan = (parameter: string) => QuantisationSpec | undefined;

/**
 * MatMulNBits' int8 compute (accuracy_level 4) quantises activations per block of 32
 * to int8 with scale max|x|/127, as llama.cpp does (Q8_0/Q8_1) in its quantised dot
 * products. Level 0 (float compute) dequantises the weights on every run on x86 and
 * measured 3× slower than float32 Gemm; level 4 is the fastest CPU path.
 */
const NBITS_ACCURACY_LEVEL = 4;

/**
 * Builds a decoder-only LM with the exact I/O of a transformers.js / Optimum
 * Qwen2 export (input_ids, attention_mask, position_ids, past_key_values.N.* →
 * logits, present.N.*), using only standard ONNX ops plus ORT's
 * SimplifiedLayerNormalization for RMSNorm.
 *
 * The residual stream is kept as a 2-D [batch*seq, hidden] tensor so every
 * projection is a Gemm with transB=1 that consumes the HF [out, in] weight
 * as-is: no transposed copies, and the tied lm_head reuses the embedding.
 * Projections the plan keeps quantised become com.microsoft MatMulNBits nodes.
 */
export function buildDecoderGraph(config: DecoderConfig, quantisation: QuantisationPlan = () => undefined): DecoderGraph {
  const { headDim, groupSize, qkvBias, oBias } = decoderDims(config);
  const numHeads = config.num_attention_heads;
  const numKvHeads = config.num_key_value_heads;
  const hidden = config.hidden_size;
  const g = new GraphBuilder();

  const rmsNorm = (x: string, weight: string): string =>
    g.op('SimplifiedLayerNormalization', [x, weight], [
      intAttr('axis', -1),
      floatAttr('epsilon', config.rms_norm_eps),
      intAttr('stash_type', 1),
    ]);
  const shapes = new Map(decoderParameters(config).map((p) => [p.name, p.shape]));
  const initializers = new Map<string, WeightInitializer>();
  const weight = (name: string, parameter: string, part: WeightInitializer['part'], shape: readonly number[]): string => {
    if (!initializers.has(name)) initializers.set(name, { name, shape, parameter, part });
    return name;
  };
  const floatWeight = (parameter: string): string => weight(parameter, parameter, 'float', shapes.get(parameter)!);

  // Per-block sums of a projection's input, shared by the projections that read it.
  const blockSums = new Map<string, string>();
  const blockSumsOf = (x: string, inputs: number, blockSize: number): string => {
    const key = `${x}/${blockSize}`;
    if (!blockSums.has(key)) {
      const blocks = g.op('Reshape', [x, g.int64([-1, inputs / blockSize, blockSize])]);
      blockSums.set(key, g.op('ReduceSum', [blocks, g.int64([2])], [intAttr('keepdims', 0)]));
    }
    return blockSums.get(key)!;
  };
  /** x [T, in] · Wᵀ (+ bias) for an HF [out, in] weight; `base` names the quantised initializers. */
  const project = (x: string, parameter: string, bias?: string, base = parameter): string => {
    const spec = quantisation(parameter);
    if (!spec) {
      const inputs = [x, floatWeight(parameter), ...(bias ? [floatWeight(bias)] : [])];
      return g.op('Gemm', inputs, [intAttr('transB', 1)]);
    }
    const withBias = (y: string): string => (bias ? g.op('Add', [y, floatWeight(bias)]) : y);
    const [outputs, inputs] = shapes.get(parameter)! as [number, number];
    if (spec.kind === 'int8-per-output') {
      // ORT quantises x to uint8 (one scale per run) and multiplies on the int8 path (VNNI where the CPU has it).
      return withBias(g.contribOp('DynamicQuantizeMatMul', [
        x,
        weight(`${base}.int8`, parameter, 'int8', [inputs, outputs]),
        weight(`${base}.scales`, parameter, 'scales', [outputs]),
      ]));
    }
    const blocks = inputs / spec.blockSize;
    const product = g.contribOp('MatMulNBits', [
      x,
      weight(`${base}.quant`, parameter, 'quant', [outputs, blocks, (spec.blockSize * spec.bits) / 8]),
      weight(`${base}.scales`, parameter, 'scales', [outputs * blocks]),
    ], [
      intAttr('K', inputs), intAttr('N', outputs), intAttr('bits', spec.bits),
      intAttr('block_size', spec.blockSize), intAttr('accuracy_level', NBITS_ACCURACY_LEVEL),
    ]);
    if (!spec.offsets) return withBias(product);
    // w = scale·(q − zp) + offset: the offset part is Σ_block offset · Σ_block x, a small Gemm.
    const offsets = weight(`${base}.offsets`, parameter, 'offsets', [outputs, blocks]);
    const offsetPart = g.op('Gemm', [blockSumsOf(x, inputs, spec.blockSize), offsets], [intAttr('transB', 1)]);
    return withBias(g.op('Add', [product, offsetPart]));
  };
  const linear = (x: string, name: string, bias: boolean): string =>
    project(x, `${name}.weight`, bias ? `${name}.bias` : undefined);
  const unsqueeze = (x: string, axes: number[]): string => g.op('Unsqueeze', [x, g.int64(axes)]);
  const transpose = (x: string, perm: number[]): string => g.op('Transpose', [x], [intsAttr('perm', perm)]);
  const scalarAt = (shape: string, index: number): string =>
    g.op('Gather', [shape, g.int64([index], [])], [intAttr('axis', 0)]);

  // Runtime sizes: S = new tokens, T = past + new (the attention_mask length), P = T - S.
  const idsShape = g.op('Shape', ['input_ids']);
  const seqLen = scalarAt(idsShape, 1);
  const totalLen = scalarAt(g.op('Shape', ['attention_mask']), 1);
  const pastLen = g.op('Sub', [totalLen, seqLen]);
  const qShape = g.op('Concat', [idsShape, g.int64([numHeads, headDim])], [intAttr('axis', 0)]);
  const kvShape = g.op('Concat', [idsShape, g.int64([numKvHeads, headDim])], [intAttr('axis', 0)]);

  // Additive attention bias [B, 1, 1, S, T], broadcast over (kv head, group):
  // query i sits at absolute index P+i and may see key j iff j <= P+i and mask[j] = 1.
  const one = g.int64([1], []);
  const keyIndex = g.op('Range', [g.int64([0], []), totalLen, one]);
  const queryIndex = unsqueeze(g.op('Range', [pastLen, totalLen, one]), [1]);
  const causal = g.op('LessOrEqual', [keyIndex, queryIndex]);
  const notPadding = unsqueeze(g.op('Cast', ['attention_mask'], [intAttr('to', DataType.BOOL)]), [1, 2, 3]);
  const allowed = g.op('And', [causal, notPadding]);
  const maskBias = g.op('Where', [allowed, g.float32([0], []), g.float32([MASK_VALUE], [])]);

  // RoPE tables [B, S, 1, head_dim] from position_ids, HF layout: cat(freqs, freqs).
  const invFreq = ropeInverseFrequencies(config);
  const positions = unsqueeze(g.op('Cast', ['position_ids'], [intAttr('to', DataType.FLOAT)]), [2]);
  const freqs = g.op('Mul', [positions, g.float32(invFreq)]);
  const angles = unsqueeze(g.op('Concat', [freqs, freqs], [intAttr('axis', -1)]), [2]);
  const cos = g.op('Cos', [angles]);
  const sin = g.op('Sin', [angles]);
  const halves = g.int64([headDim / 2, headDim / 2]);
  const applyRope = (x: string): string => {
    // x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1)
    const [x1, x2] = g.opMulti('Split', [x, halves], 2, [intAttr('axis', -1)]) as [string, string];
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], [intAttr('axis', -1)]);
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  };

  const embedded = g.op('Gather', [floatWeight('model.embed_tokens.weight'), 'input_ids'], [intAttr('axis', 0)]);
  let residual = g.op('Reshape', [embedded, g.int64([-1, hidden])]);

  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const p = `model.layers.${layer}`;
    g.scope = `${p}/`;

    const x = rmsNorm(residual, floatWeight(`${p}.input_layernorm.weight`));
    const q = applyRope(g.op('Reshape', [linear(x, `${p}.self_attn.q_proj`, qkvBias), qShape]));
    const k = applyRope(g.op('Reshape', [linear(x, `${p}.self_attn.k_proj`, qkvBias), kvShape]));
    const v = g.op('Reshape', [linear(x, `${p}.self_attn.v_proj`, qkvBias), kvShape]);

    // KV cache [B, kvH, T, hd]: the new keys/values appended to the past along the sequence axis.
    const presentKey = g.op('Concat', [`past_key_values.${layer}.key`, transpose(k, [0, 2, 1, 3])],
      [intAttr('axis', 2)], `present.${layer}.key`);
    const presentValue = g.op('Concat', [`past_key_values.${layer}.value`, transpose(v, [0, 2, 1, 3])],
      [intAttr('axis', 2)], `present.${layer}.value`);

    // GQA without repeating KV: queries as [B, kvH, group, S, hd] against keys
    // [B, kvH, 1, hd, T] broadcast over the group axis.
    // FusedMatMul reads the keys transposed in place: a Transpose would copy the whole cache every step.
    const qGrouped = transpose(
      g.op('Reshape', [q, g.int64([0, 0, numKvHeads, groupSize, headDim])]), [0, 2, 3, 1, 4]);
    const qk = g.contribOp('FusedMatMul', [qGrouped, unsqueeze(presentKey, [2])],
      [intAttr('transB', 1), floatAttr('alpha', 1 / Math.sqrt(headDim))]);
    const scores = g.op('Add', [qk, maskBias]);
    const weights = g.op('Softmax', [scores], [intAttr('axis', -1)]);
    const context = g.op('MatMul', [weights, unsqueeze(presentValue, [2])]);
    const merged = g.op('Reshape', [transpose(context, [0, 3, 1, 2, 4]), g.int64([-1, numHeads * headDim])]);
    residual = g.op('Add', [residual, linear(merged, `${p}.self_attn.o_proj`, oBias)]);

    const y = rmsNorm(residual, floatWeight(`${p}.post_attention_layernorm.weight`));
    const gate = linear(y, `${p}.mlp.gate_proj`, false);
    const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
    const up = linear(y, `${p}.mlp.up_proj`, false);
    residual = g.op('Add', [residual, linear(g.op('Mul', [silu, up]), `${p}.mlp.down_proj`, false)]);
  }

  g.scope = '';
  const final = rmsNorm(residual, floatWeight('model.norm.weight'));
  // Only the last num_logits_to_keep positions of each row reach the LM head (0 keeps all,
  // as in HF): a decoder reads one position per row, and the head is vocab × hidden per position.
  const hiddenShape = g.op('Concat', [idsShape, g.int64([hidden])], [intAttr('axis', 0)]);
  const start = unsqueeze(g.op('Neg', [LOGITS_TO_KEEP]), [0]);
  const kept = g.op('Slice', [g.op('Reshape', [final, hiddenShape]), start, g.int64([Number.MAX_SAFE_INTEGER]), g.int64([1])]);
  const lmHead = config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const logits2d = project(g.op('Reshape', [kept, g.int64([-1, hidden])]), lmHead, undefined, 'lm_head.weight');
  const batchSize = g.op('Gather', [idsShape, g.int64([0])], [intAttr('axis', 0)]);
  const logitsShape = g.op('Concat', [batchSize, g.int64([-1, config.vocab_size])], [intAttr('axis', 0)]);
  g.op('Reshape', [logits2d, logitsShape], [], 'logits');

  const kvDims = ['batch_size', numKvHeads, 'past_sequence_length', headDim];
  const presentDims = ['batch_size', numKvHeads, 'total_sequence_length', headDim];
  const inputs = [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']),
    valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo(LOGITS_TO_KEEP, DataType.INT64, []),
  ];
  const outputs = [valueInfo('logits', DataType.FLOAT, ['batch_size', 'kept_sequence_length', config.vocab_size])];
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    for (const kind of ['key', 'value']) {
      inputs.push(valueInfo(`past_key_values.${layer}.${kind}`, DataType.FLOAT, kvDims));
      outputs.push(valueInfo(`present.${layer}.${kind}`, DataType.FLOAT, presentDims));
    }
  }

  return { nodes: g.nodes, constants: g.constants, inputs, outputs, initializers: [...initializers.values()] };
}
