// Runs the same token sequences through the ONNX engine (an imported model directory) and
// through llama.cpp (node-llama-cpp, the GGUF file itself): next-token argmax at every
// prompt position, greedy continuations, and timings for a throughput ratio.
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type ControlledEvaluateIndexOutput, type LlamaContextSequence, type Token } from 'node-llama-cpp';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { loadTokenizer, renderChat, stopTokenIds } from '../../src/inference/onnx/chat-model.js';
import { createSession, decoderLayout } from '../../src/inference/onnx/decoder-session.js';
import { readJson } from '../../src/project.js';
import { conversationFor, loadPromptTemplate } from '../../src/stages/build-prompt.js';
import { generate } from './generation.js';
import { FIXTURES } from './paths.js';

/**
 * Both engines get the same thread count, so the throughput ratio compares like with like.
 * One thread: both thread pools spin-wait at barriers, and on a shared 2-core machine a
 * descheduled second thread slowed each of them tenfold.
 */
const THREADS = 1;
export const CONTINUATION_TOKENS = 32;
/**
 * A top-2 logit gap under this is a near-tie: llama.cpp itself flips such positions between
 * batched and token-by-token evaluation of the same prompt.
 */
export const NEAR_TIE = 0.5;

/** The ONNX engine's choice at one position and its logit gap to the runner-up. */
export interface Choice {
  token: number;
  gap: number;
}

export interface PromptComparison {
  tokens: number[];
  /** llama.cpp's own tokenisation of the rendered prompt equals ours. */
  sameTokenisation: boolean;
  /** After each prompt position, then after each token of the ONNX continuation (one forward pass). */
  onnx: Choice[];
  /** llama.cpp's argmax after each prompt position, the prompt evaluated in one batch as the ONNX engine does. */
  llama: number[];
  /** The same, evaluated one token at a time: llama.cpp against itself. */
  llamaTokenByToken: number[];
  onnxContinuation: number[];
  llamaContinuation: number[];
  /** The answer's length in the ONNX continuation: up to and including its first end-of-turn token, where the pipeline stops. */
  answerLength: number;
  /** Greedy generation of CONTINUATION_TOKENS through each engine's own generation loop. */
  onnxSeconds: number;
  llamaSeconds: number;
}

/** The conv_term prompts of the agreement fixture, rendered with the model's chat template and tokenised. */
export async function agreementPrompts(modelDir: string): Promise<{ text: string; tokens: number[] }[]> {
  const tokenizer = await loadTokenizer(modelDir);
  const template = loadPromptTemplate('conv_term');
  const { prompts } = readJson<{ prompts: { text: string; types: string[]; answers: string[] }[] }>(
    join(FIXTURES, 'agreement-prompts.json'));
  return prompts.map(({ text, types, answers }) => {
    const rendered = renderChat(tokenizer, conversationFor(template, text, types, answers));
    return { text: rendered, tokens: tokenizer.encode(rendered, { add_special_tokens: false }) };
  });
}

function topTwo(logits: Float32Array, rows: number, vocab: number): Choice[] {
  return Array.from({ length: rows }, (_, row) => {
    const at = row * vocab;
    let best = 0;
    let second = 1;
    if (logits[at + second]! > logits[at + best]!) [best, second] = [second, best];
    for (let i = 2; i < vocab; i++) {
      const value = logits[at + i]!;
      if (value > logits[at + best]!) [best, second] = [i, best];
      else if (value > logits[at + second]!) second = i;
    }
    return { token: best, gap: logits[at + best]! - logits[at + second]! };
  });
}

/** One forward pass with an empty cache: the choice after every position. */
async function onnxChoices(session: InferenceSession, tokens: readonly number[]): Promise<Choice[]> {
  const { numLayers, numKeyValueHeads, headDim } = decoderLayout(session);
  const length = tokens.length;
  const int64 = (values: number[]) => new Tensor('int64', BigInt64Array.from(values, BigInt), [1, length]);
  const feeds: Record<string, Tensor> = {
    input_ids: int64([...tokens]),
    attention_mask: int64(tokens.map(() => 1)),
    position_ids: int64(tokens.map((_, i) => i)),
    // Every position's logits: 0 keeps all.
    num_logits_to_keep: new Tensor('int64', BigInt64Array.of(0n), []),
  };
  const empty = new Tensor('float32', new Float32Array(0), [1, numKeyValueHeads, 0, headDim]);
  for (let layer = 0; layer < numLayers; layer++) {
    feeds[`past_key_values.${layer}.key`] = empty;
    feeds[`past_key_values.${layer}.value`] = empty;
  }
  const { logits } = await session.run(feeds);
  return topTwo(logits!.data as Float32Array, length, logits!.dims[2]!);
}

const GREEDY = { generateNext: { token: true, options: { temperature: 0 } } } as const;

function picked(result: ControlledEvaluateIndexOutput | undefined): number {
  if (typeof result?.next.token !== 'number') throw new Error('llama.cpp returned no token');
  return result.next.token;
}

/** llama.cpp's greedy pick (temperature 0) after every prompt position, in one batch or token by token. */
async function llamaArgmax(sequence: LlamaContextSequence, tokens: readonly number[], tokenByToken: boolean): Promise<number[]> {
  await sequence.clearHistory();
  if (!tokenByToken) return (await sequence.controlledEvaluate(tokens.map((t) => [t as Token, GREEDY]))).map(picked);
  const choices: number[] = [];
  for (const token of tokens) choices.push(picked((await sequence.controlledEvaluate([[token as Token, GREEDY]]))[0]));
  return choices;
}

/**
 * llama.cpp's argmax chain: the batched prompt, then each picked token fed back. (Its
 * `evaluate()` generator, used for timing, parts from this chain on near-ties in some prompts.)
 */
async function llamaContinuation(sequence: LlamaContextSequence, tokens: readonly number[], count: number): Promise<number[]> {
  const generated = [(await llamaArgmax(sequence, tokens, false)).at(-1)!];
  while (generated.length < count) {
    generated.push(picked((await sequence.controlledEvaluate([[generated.at(-1)! as Token, GREEDY]]))[0]));
  }
  return generated;
}

/** Greedy generation through llama.cpp's own loop (temperature 0), for timing. */
async function llamaGreedy(sequence: LlamaContextSequence, tokens: readonly number[], count: number): Promise<void> {
  await sequence.clearHistory();
  let generated = 0;
  for await (const _ of sequence.evaluate(tokens as Token[], { temperature: 0 })) {
    if (++generated === count) break;
  }
}

/** `count` limits the prompts to that many, spread evenly over the fixture (single and second turns alike). */
export async function compareWithLlamaCpp(modelDir: string, ggufPath: string, count?: number): Promise<PromptComparison[]> {
  const all = await agreementPrompts(modelDir);
  const step = count ? Math.max(1, Math.ceil(all.length / count)) : 1;
  const prompts = all.filter((_, i) => i % step === 0);
  const session = await createSession(join(modelDir, 'onnx', 'model.onnx'), { intraOpNumThreads: THREADS });
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
  const longest = Math.max(...prompts.map((p) => p.tokens.length)) + CONTINUATION_TOKENS;
  // llama.cpp's defaults (F16 KV cache, flash attention where it chooses to), as its users run it.
  const context = await model.createContext({ contextSize: longest + 64, batchSize: longest + 64, threads: THREADS });
  const sequence = context.getSequence();
  const endOfTurn = new Set(stopTokenIds(modelDir));
  try {
    const comparisons: PromptComparison[] = [];
    for (const { text, tokens } of prompts) {
      const greedy = { maxNewTokens: CONTINUATION_TOKENS, stopTokenIds: [], padTokenId: 0 };
      let started = performance.now();
      const onnxContinuation = (await generate(session, [tokens], greedy)).rows[0]!.tokens;
      const onnxSeconds = (performance.now() - started) / 1000;
      started = performance.now();
      await llamaGreedy(sequence, tokens, CONTINUATION_TOKENS);
      const llamaSeconds = (performance.now() - started) / 1000;

      comparisons.push({
        tokens,
        sameTokenisation: model.tokenize(text, true).join() === tokens.join(),
        onnx: await onnxChoices(session, [...tokens, ...onnxContinuation]),
        llama: await llamaArgmax(sequence, tokens, false),
        llamaTokenByToken: await llamaArgmax(sequence, tokens, true),
        onnxContinuation,
        llamaContinuation: await llamaContinuation(sequence, tokens, CONTINUATION_TOKENS),
        answerLength: onnxContinuation.findIndex((token) => endOfTurn.has(token)) + 1 || onnxContinuation.length,
        onnxSeconds,
        llamaSeconds,
      });
    }
    return comparisons;
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
    await session.release();
  }
}

export interface AgreementSummary {
  prompts: number;
  sameTokenisation: number;
  positions: number;
  /** Prompt positions where the ONNX argmax is llama.cpp's (batched) choice. */
  agreeing: number;
  /** Positions where the ONNX top-2 gap is at least NEAR_TIE, and how many of them agree. */
  decisive: number;
  decisiveAgreeing: number;
  /** The largest ONNX top-2 gap where the engines disagree. */
  largestDisagreeingGap: number;
  /** Positions where llama.cpp token by token chooses as llama.cpp batched does. */
  llamaSelfAgreeing: number;
  /** Continuations equal over the answer (to the end of turn); past it the pipeline generates nothing. */
  identicalContinuations: number;
  /** Tokens before the first difference within the answer, per continuation. */
  matchingPrefixes: number[];
  /** Continuations whose first difference is at an ONNX near-tie. */
  divergencesAtNearTies: number;
  /** generate()'s KV-cached continuation equals the full-forward argmax chain. */
  cacheConsistent: number;
  onnxTokensPerSecond: number;
  llamaTokensPerSecond: number;
}

export function summarise(comparisons: readonly PromptComparison[]): AgreementSummary {
  const positions = comparisons.flatMap((c) => c.llama.map((llama, i) => ({ llama, onnx: c.onnx[i]!, self: c.llamaTokenByToken[i] })));
  const disagreeing = positions.filter((p) => p.onnx.token !== p.llama);
  const decisive = positions.filter((p) => p.onnx.gap >= NEAR_TIE);
  const divergences = comparisons.map((c) => {
    const first = c.onnxContinuation.slice(0, c.answerLength).findIndex((token, i) => token !== c.llamaContinuation[i]);
    // The choice for continuation token k was made after prompt position L - 1 + k.
    return { matching: first === -1 ? c.answerLength : first, identical: first === -1, gap: first === -1 ? Infinity : c.onnx[c.tokens.length - 1 + first]!.gap };
  });
  // Tokens processed (prompt + continuation) per second of greedy generation, batch 1.
  const processed = comparisons.reduce((n, c) => n + c.tokens.length + CONTINUATION_TOKENS, 0);
  const seconds = (pick: (c: PromptComparison) => number) => comparisons.reduce((s, c) => s + pick(c), 0);
  return {
    prompts: comparisons.length,
    sameTokenisation: comparisons.filter((c) => c.sameTokenisation).length,
    positions: positions.length,
    agreeing: positions.length - disagreeing.length,
    decisive: decisive.length,
    decisiveAgreeing: decisive.filter((p) => p.onnx.token === p.llama).length,
    largestDisagreeingGap: Math.max(0, ...disagreeing.map((p) => p.onnx.gap)),
    llamaSelfAgreeing: positions.filter((p) => p.self === p.llama).length,
    identicalContinuations: divergences.filter((d) => d.identical).length,
    matchingPrefixes: divergences.map((d) => d.matching),
    divergencesAtNearTies: divergences.filter((d) => d.gap < NEAR_TIE).length,
    cacheConsistent: comparisons.filter((c) =>
      c.onnxContinuation.every((token, k) => token === c.onnx[c.tokens.length - 1 + k]!.token)).length,
    onnxTokensPerSecond: processed / seconds((c) => c.onnxSeconds),
    llamaTokensPerSecond: processed / seconds((c) => c.llamaSeconds),
  };
}
