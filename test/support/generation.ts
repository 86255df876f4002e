// Greedy generation from plain prompts, as the tests drive it: through the runtime's generation
// loop (`generate`), and the reference it is checked against (`generateWithoutCache`),
// which feeds the whole sequence again from an empty cache at every step, so no cached key or
// value is ever reused.
import type { InferenceSession } from 'onnxruntime-node';
import { decoderLayout } from '../../src/inference/onnx/decoder-session.js';
import { Forward, logitsOffset } from '../../src/inference/onnx/forward.js';
import { GenerationLoop } from '../../src/inference/onnx/generation-loop.js';
import { ALL_FEATURES, type EngineFeatures } from '../../src/inference/onnx/generation-scheduler.js';
import { KvCache } from '../../src/inference/onnx/kv-cache.js';
import type { RunStats } from '../../src/inference/onnx/run-cost.js';
import type { GeneratedTurn, Sequence } from '../../src/inference/onnx/sequence.js';
import { greedyPicker, type TokenPicker } from '../../src/inference/onnx/token-picker.js';

export interface GenerateOptions {
  maxNewTokens: number;
  stopTokenIds: number[];
  padTokenId: number;
  /** The picker of each prompt's turn (default greedy). */
  picker?: (row: number) => TokenPicker;
  features?: EngineFeatures;
  maxRows?: number;
}

export interface GenerationResult {
  rows: GeneratedTurn[];
  /** Real (non-padding) prompt tokens fed to the model. */
  promptTokens: number;
  /** Tokens returned across all rows (stop tokens excluded). */
  generatedTokens: number;
  stats?: RunStats;
}

type Generation = (session: InferenceSession, prompts: readonly (readonly number[])[], options: GenerateOptions) => Promise<GenerationResult>;

/** Each prompt as a one-turn sequence of the generation loop. */
export const generate: Generation = async (session, prompts, options) => {
  const forward = new Forward(session, options.padTokenId);
  const loop = new GenerationLoop(forward, decoderLayout(session), options.stopTokenIds, {
    maxRows: options.maxRows ?? prompts.length,
    prefixCacheBytes: 64 * 2 ** 20,
  });
  const turns: (GeneratedTurn | null)[] = prompts.map(() => null);
  const sequences: Sequence[] = prompts.map((prompt, row) => ({
    nextTurn: (previous) => {
      if (previous) {
        turns[row] = previous;
        return null;
      }
      return { prompt: [...prompt], picker: options.picker?.(row) ?? greedyPicker, maxNewTokens: options.maxNewTokens };
    },
  }));
  const stats = await loop.run(sequences, options.features ?? ALL_FEATURES);
  return { ...summarise(prompts, turns as GeneratedTurn[]), stats };
};

export const generateWithoutCache: Generation = async (session, prompts, options) => {
  const forward = new Forward(session, options.padTokenId);
  const stopTokens = new Set(options.stopTokenIds);
  const rows: GeneratedTurn[] = prompts.map(() => ({ tokens: [], probabilities: [], finishReason: 'length' }));
  for (let step = 0; step < options.maxNewTokens; step++) {
    const open = rows.flatMap((row, i) => (row.finishReason === 'length' ? [i] : []));
    if (open.length === 0) break;
    const logits = await forward.prefill(KvCache.empty(decoderLayout(session), open.length),
      open.map((i) => [...prompts[i]!, ...rows[i]!.tokens]), 1);
    open.forEach((i, b) => {
      const { token, probability } = greedyPicker.pick(logits.data, logitsOffset(logits, b, 0), logits.vocab);
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

function summarise(prompts: readonly (readonly number[])[], rows: GeneratedTurn[]): GenerationResult {
  return {
    rows,
    promptTokens: prompts.reduce((n, p) => n + p.length, 0),
    generatedTokens: rows.reduce((n, r) => n + r.tokens.length, 0),
  };
}
