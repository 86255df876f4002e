// An ONNX decoder session: which weight file to load, on which device, with which runtime
// options. The I/O is the transformers.js / Optimum one: input_ids, attention_mask,
// position_ids, past_key_values.N.{key,value} → logits, present.N.{key,value}.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';

export const EXECUTION_PROVIDERS = ['cpu', 'cuda'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** Weight variants by file name, as transformers.js lays them out under `onnx/`. */
export const MODEL_FILES = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q8: 'model_quantized.onnx',
  q4: 'model_q4.onnx',
} as const;
export type ModelDtype = keyof typeof MODEL_FILES;
export const MODEL_DTYPES = Object.keys(MODEL_FILES) as ModelDtype[];

export interface SessionOptions {
  /** Threads for one operator; ORT's default (all physical cores) when omitted. */
  intraOpNumThreads?: number;
  executionProvider?: ExecutionProvider;
  /**
   * ORT's CPU arena keeps freed blocks for reuse: faster steps, but RSS stays at the peak.
   * Default true; turn it off where memory is tighter than time.
   */
  memoryArena?: boolean;
}

export function modelPath(modelDir: string, dtype: ModelDtype = 'fp32'): string {
  const path = join(modelDir, 'onnx', MODEL_FILES[dtype]);
  if (!existsSync(path)) throw new Error(`${modelDir} has no ${dtype} weights (onnx/${MODEL_FILES[dtype]})`);
  return path;
}

export async function createSession(path: string, options: SessionOptions = {}): Promise<InferenceSession> {
  const provider = options.executionProvider ?? 'cpu';
  try {
    return await InferenceSession.create(path, {
      graphOptimizationLevel: 'all',
      // CUDA falls back to CPU for the few ops it lacks.
      executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      // One decoder step is a single chain of ops: parallelism comes from intra-op threads.
      executionMode: 'sequential',
      interOpNumThreads: 1,
      enableCpuMemArena: options.memoryArena ?? true,
      // Memory patterns are planned per input shape, and every decoding step has a new one.
      enableMemPattern: false,
      ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
    });
  } catch (error) {
    if (provider !== 'cuda') throw error;
    throw new Error(
      `cannot start the CUDA execution provider (${(error as Error).message}); ` +
        'install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 (docs/performance.md)',
    );
  }
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
  if (first.type !== 'float32') throw new Error(`KV cache of type ${first.type} is unsupported; use a variant with float32 past_key_values`);
  const [, numKeyValueHeads, , headDim] = first.shape;
  if (typeof numKeyValueHeads !== 'number' || typeof headDim !== 'number') {
    throw new Error(`KV heads and head_dim must be static, got [${first.shape.join(', ')}]`);
  }
  return { numLayers: pastKeys.length, numKeyValueHeads, headDim };
}

/**
 * Whether the graph takes `num_logits_to_keep` (this project's builder, version 2 on), a required
 * int64 scalar: the logits are then those of each row's last N positions (0: all of them).
 */
export function keepsLogits(session: InferenceSession): boolean {
  return session.inputNames.includes('num_logits_to_keep');
}
