// Options that several commands share, each defined once: how local inference runs and how the
// worker side batches sentences.
import { EXECUTION_PROVIDERS, MODEL_DTYPES } from '../inference/onnx/decoder-session.js';
import { defaultWorkerCount } from '../inference/onnx/inference-pool.js';
import { DEFAULT_ENGINE_OPTIONS } from '../inference/onnx/onnx-backend.js';
import { choice, integer } from './options.js';

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
  ? integer('inference worker threads, one batch each', defaultWorkerCount(), { shown: 'one per core, up to 4' })
  : integer('inference worker threads, one batch each', fallback);

export const ENGINE = {
  dtype: choice(MODEL_DTYPES, 'which weights under onnx/ to load', 'fp32'),
  'execution-provider': choice(EXECUTION_PROVIDERS, 'cuda needs the CUDA install (docs/deployment.md)', 'cpu'),
};
