// Options that several commands share, each defined once: how local inference runs and how the
// worker side batches sentences.
import { EXECUTION_PROVIDERS, MODEL_DTYPES } from '../inference/onnx/decoder-session.js';
import { ALL_FEATURES, type EngineFeatures } from '../inference/onnx/generation-scheduler.js';
import { defaultWorkerCount } from '../inference/onnx/inference-pool.js';
import { DEFAULT_ENGINE_OPTIONS } from '../inference/onnx/onnx-backend.js';
import { choice, integer, list, oneOf } from './options.js';

/** `annotate` and `eval` take the same slice of a corpus, so a run on part of it scores against that part. */
export const DOCUMENTS = { documents: integer('only the first N documents of the corpus (default: all)') };

/** How a worker or `annotate` pools sentences into inference batches. */
export const BATCHING = {
  'batch-size': integer('sentences per inference batch', 8),
  'batch-wait-ms': integer('longest wait for a batch to fill', 50),
};

export const maxNewTokens = (help = "bound on each answer's length") =>
  integer(help, DEFAULT_ENGINE_OPTIONS.maxNewTokens);

/** Worker threads of the local model, each with its own session and copy of the weights. */
export const inferenceWorkers = (fallback?: number) => fallback === undefined
  ? integer('inference worker threads, each with its share of the cores', defaultWorkerCount(), { shown: 'one per 4 cores, up to 4' })
  : integer('inference worker threads, each with its share of the cores', fallback);

/** The engine's speed-ups by their command-line names. */
const FEATURE_FLAGS: Record<string, keyof EngineFeatures> = {
  reuse: 'reuse',
  'prefix-cache': 'prefixCache',
  'jump-forward': 'jumpForward',
  'prompt-lookup': 'promptLookup',
  'step-batching': 'stepBatching',
  'last-logits-only': 'lastLogitsOnly',
};

/** Every speed-up but those named (all are exact; switching one off measures what it adds). */
export function engineFeatures(off: readonly string[]): EngineFeatures {
  const features = { ...ALL_FEATURES };
  for (const name of off) features[FEATURE_FLAGS[oneOf(name, Object.keys(FEATURE_FLAGS), '--engine-off')]!] = false;
  return features;
}

export const ENGINE = {
  'engine-off': list('LIST', `engine speed-ups to switch off: ${Object.keys(FEATURE_FLAGS).join(', ')} (reuse off is the naive way)`, []),
  dtype: choice(MODEL_DTYPES, 'which weights under onnx/ to load', 'fp32'),
  'execution-provider': choice(EXECUTION_PROVIDERS, 'cuda needs the CUDA install (docs/deployment.md)', 'cpu'),
};
