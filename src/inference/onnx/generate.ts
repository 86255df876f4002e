import { InferenceSession, Tensor } from 'onnxruntime-node';

/**
 * Greedy decoding over an ONNX decoder with the transformers.js / Optimum
 * interface: input_ids, attention_mask, position_ids, past_key_values.N.{key,value}
 * → logits, present.N.{key,value}.
 */

export interface SessionOptions {
  /** Threads for one operator; ORT's default (all physical cores) when omitted. */
  intraOpNumThreads?: number;
  executionProviders?: InferenceSession.ExecutionProviderConfig[];
}

export function createSession(
  modelPath: string,
  options: SessionOptions = {},
): Promise<InferenceSession> {
  return InferenceSession.create(modelPath, {
    graphOptimizationLevel: 'all',
    executionProviders: options.executionProviders ?? ['cpu'],
    // One decoder step is a single chain of ops: parallelism comes from intra-op threads.
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
  });
}

/** KV-cache geometry, read from the `past_key_values.N.key` inputs [batch, kv_heads, past, head_dim]. */
export interface DecoderLayout {
  numLayers: number;
  numKeyValueHeads: number;
  headDim: number;
}

export function decoderLayout(session: InferenceSession): DecoderLayout {
  const pastKeys = session.inputMetadata.filter((m) => /^past_key_values\.\d+\.key$/.test(m.name));
  const first = pastKeys[0];
  if (!first?.isTensor) throw new Error('model has no past_key_values.N.key inputs');
  const [, numKeyValueHeads, , headDim] = first.shape;
  if (typeof numKeyValueHeads !== 'number' || typeof headDim !== 'number') {
    throw new Error(`KV heads and head_dim must be static, got [${first.shape.join(', ')}]`);
  }
  return { numLayers: pastKeys.length, numKeyValueHeads, headDim };
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** End-of-turn tokens: a row that emits one is finished (the token is not returned). */
  stopTokenIds: Iterable<number>;
  padTokenId: number;
}

export type FinishReason = 'stop' | 'length';

export interface GeneratedRow {
  tokens: number[];
  /** Softmax probability of each returned token at the step it was chosen. */
  probabilities: number[];
  finishReason: FinishReason;
}

export interface GenerationResult {
  rows: GeneratedRow[];
  /** Real (non-padding) prompt tokens fed to the model. */
  promptTokens: number;
  /** Tokens returned across all rows (stop tokens excluded). */
  generatedTokens: number;
}

/** Greedy generation with a KV cache: a batched prefill, then one token per row per step. */
export function generate(
  session: InferenceSession,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<GenerationResult> {
  return run(session, prompts, options, true);
}

/** Reference path for tests: every step recomputes the whole sequence with an empty past. */
export function generateWithoutCache(
  session: InferenceSession,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<GenerationResult> {
  return run(session, prompts, options, false);
}

async function run(
  session: InferenceSession,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
  useCache: boolean,
): Promise<GenerationResult> {
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) {
    throw new RangeError(`maxNewTokens must be a positive integer, got ${options.maxNewTokens}`);
  }
  if (prompts.some((p) => p.length === 0)) throw new RangeError('every prompt needs at least one token');
  const batch = prompts.length;
  const rows: GeneratedRow[] = prompts.map(() => ({ tokens: [], probabilities: [], finishReason: 'length' }));
  if (batch === 0) return { rows, promptTokens: 0, generatedTokens: 0 };

  const stopTokens = new Set(options.stopTokenIds);
  const layout = decoderLayout(session);
  const history = new History(batch, Math.max(...prompts.map((p) => p.length)), options.maxNewTokens);
  history.appendPrompts(prompts, options.padTokenId);

  const emptyPast = new Tensor('float32', new Float32Array(0), [batch, layout.numKeyValueHeads, 0, layout.headDim]);
  const past: Record<string, Tensor> = {};
  for (let layer = 0; layer < layout.numLayers; layer++) {
    past[`past_key_values.${layer}.key`] = emptyPast;
    past[`past_key_values.${layer}.value`] = emptyPast;
  }

  const active = new Array<boolean>(batch).fill(true);
  const nextTokens = new Array<number>(batch);
  let cached = 0; // columns whose keys/values are already in `past`
  for (let step = 0; step < options.maxNewTokens && active.includes(true); step++) {
    const from = useCache ? cached : 0;
    const outputs = await session.run({ ...history.feeds(from), ...past });
    if (useCache) {
      for (let layer = 0; layer < layout.numLayers; layer++) {
        past[`past_key_values.${layer}.key`] = outputs[`present.${layer}.key`]!;
        past[`past_key_values.${layer}.value`] = outputs[`present.${layer}.value`]!;
      }
      cached = history.length;
    }

    const logits = outputs.logits!;
    const [, fedLength, vocab] = logits.dims as [number, number, number];
    const data = logits.data as Float32Array;
    for (let row = 0; row < batch; row++) {
      nextTokens[row] = -1;
      if (!active[row]) continue;
      const { token, probability } = greedyPick(data, (row * fedLength + fedLength - 1) * vocab, vocab);
      const output = rows[row]!;
      if (stopTokens.has(token)) {
        output.finishReason = 'stop';
        active[row] = false;
      } else {
        output.tokens.push(token);
        output.probabilities.push(probability);
        nextTokens[row] = token;
      }
    }
    history.appendStep(nextTokens, options.padTokenId);
  }

  return {
    rows,
    promptTokens: prompts.reduce((n, p) => n + p.length, 0),
    generatedTokens: rows.reduce((n, s) => n + s.tokens.length, 0),
  };
}

/** Argmax of one logits row and its softmax probability, read in place. */
function greedyPick(logits: Float32Array, offset: number, vocab: number): { token: number; probability: number } {
  let best = 0;
  let max = logits[offset]!;
  for (let i = 1; i < vocab; i++) {
    const value = logits[offset + i]!;
    if (value > max) {
      max = value;
      best = i;
    }
  }
  // p(best) = exp(0) / sum(exp(l - max)): subtracting the max keeps exp from overflowing.
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i]! - max);
  return { token: best, probability: 1 / sum };
}

/**
 * Left-padded token / mask / position columns for the whole batch, stored
 * row-major with a fixed row stride so appending a column never moves data.
 * Feed tensors are views over buffers reused for every step.
 */
class History {
  private readonly stride: number;
  private readonly tokens: BigInt64Array;
  private readonly mask: BigInt64Array;
  private readonly positions: BigInt64Array;
  /** Next position per row = number of real tokens so far. */
  private readonly realTokens: number[];
  private readonly feedBuffers: { ids: BigInt64Array; mask: BigInt64Array; positions: BigInt64Array };
  length = 0;

  constructor(
    private readonly batch: number,
    private readonly promptLength: number,
    maxNewTokens: number,
  ) {
    this.stride = promptLength + maxNewTokens;
    const size = batch * this.stride;
    this.tokens = new BigInt64Array(size);
    this.mask = new BigInt64Array(size);
    this.positions = new BigInt64Array(size);
    this.realTokens = new Array<number>(batch).fill(0);
    this.feedBuffers = {
      ids: new BigInt64Array(size),
      mask: new BigInt64Array(size),
      positions: new BigInt64Array(size),
    };
  }

  appendPrompts(prompts: readonly (readonly number[])[], padTokenId: number): void {
    prompts.forEach((prompt, row) => {
      const padding = this.promptLength - prompt.length;
      for (let col = 0; col < this.promptLength; col++) {
        this.set(row, col, col < padding ? -1 : prompt[col - padding]!, padTokenId);
      }
    });
    this.length = this.promptLength;
  }

  /** Appends one column; -1 marks a finished row, fed as a masked pad token. */
  appendStep(tokens: readonly number[], padTokenId: number): void {
    tokens.forEach((token, row) => this.set(row, this.length, token, padTokenId));
    this.length++;
  }

  /** Model inputs for columns [from, length); the attention mask always spans all columns. */
  feeds(from: number): Record<string, Tensor> {
    return {
      input_ids: this.columns(this.tokens, this.feedBuffers.ids, from),
      attention_mask: this.columns(this.mask, this.feedBuffers.mask, 0),
      position_ids: this.columns(this.positions, this.feedBuffers.positions, from),
    };
  }

  private set(row: number, col: number, token: number, padTokenId: number): void {
    const index = row * this.stride + col;
    const real = token >= 0;
    this.tokens[index] = BigInt(real ? token : padTokenId);
    this.mask[index] = real ? 1n : 0n;
    // Padding positions are clamped to 0, like HF's cumsum(mask) - 1.
    this.positions[index] = BigInt(real ? this.realTokens[row]!++ : 0);
  }

  private columns(source: BigInt64Array, buffer: BigInt64Array, from: number): Tensor {
    const width = this.length - from;
    for (let row = 0; row < this.batch; row++) {
      const start = row * this.stride + from;
      buffer.set(source.subarray(start, start + width), row * width);
    }
    return new Tensor('int64', buffer.subarray(0, this.batch * width), [this.batch, width]);
  }
}
