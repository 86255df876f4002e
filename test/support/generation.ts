// Greedy generation from plain prompts, as the tests drive it: through the runtime's KV-cached
// loop (`generate`), and the reference it is checked against (`generateWithoutCache`), which
// feeds the whole sequence again from an empty cache at every step, so no cached key or value
// is ever reused.
import type { InferenceSession } from 'onnxruntime-node';
import { decoderLayout } from '../../src/inference/onnx/decoder-session.js';
import { Forward, generateFrom, type GeneratedRow, type GenerateOptions } from '../../src/inference/onnx/generate.js';
import { KvCache } from '../../src/inference/onnx/kv-cache.js';
import { greedyPicker } from '../../src/inference/onnx/token-picker.js';

export interface GenerationResult {
  rows: GeneratedRow[];
  /** Real (non-padding) prompt tokens fed to the model. */
  promptTokens: number;
  /** Tokens returned across all rows (stop tokens excluded). */
  generatedTokens: number;
}

type Generation = (session: InferenceSession, prompts: readonly (readonly number[])[], options: GenerateOptions) => Promise<GenerationResult>;

/** A batched prefill of the prompts, then one token per row per step. */
export const generate: Generation = async (session, prompts, options) => {
  const forward = new Forward(session, options.padTokenId);
  const rows = await generateFrom(forward, KvCache.empty(decoderLayout(session), prompts.length), prompts, options);
  return summarise(prompts, rows.map(({ tokens, probabilities, finishReason }) => ({ tokens, probabilities, finishReason })));
};

export const generateWithoutCache: Generation = async (session, prompts, options) => {
  const forward = new Forward(session, options.padTokenId);
  const stopTokens = new Set(options.stopTokenIds);
  const rows: GeneratedRow[] = prompts.map(() => ({ tokens: [], probabilities: [], finishReason: 'length' }));
  for (let step = 0; step < options.maxNewTokens; step++) {
    const open = rows.flatMap((row, i) => (row.finishReason === 'length' ? [i] : []));
    if (open.length === 0) break;
    const logits = await forward.prefill(KvCache.empty(decoderLayout(session), open.length),
      open.map((i) => [...prompts[i]!, ...rows[i]!.tokens]));
    const [, width, vocab] = logits.dims as [number, number, number];
    open.forEach((i, b) => {
      const { token, probability } = greedyPicker.pick(i, logits.data as Float32Array, (b * width + width - 1) * vocab, vocab);
      if (stopTokens.has(token)) {
        rows[i]!.finishReason = 'stop';
      } else {
        rows[i]!.tokens.push(token);
        rows[i]!.probabilities.push(probability);
      }
    });
  }
  return summarise(prompts, rows);
};

function summarise(prompts: readonly (readonly number[])[], rows: GeneratedRow[]): GenerationResult {
  return {
    rows,
    promptTokens: prompts.reduce((n, p) => n + p.length, 0),
    generatedTokens: rows.reduce((n, r) => n + r.tokens.length, 0),
  };
}
