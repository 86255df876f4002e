// The ONNX ModelBackend: queries go to the inference pool with the answer settings, and the
// work done is counted for metrics.
import type { PromptTemplate } from '../../domain/prompt-template.js';
import type { Answer, Query } from '../../domain/types.js';
import { addInference, noInference, type InferenceStats } from '../../observability/inference-stats.js';
import type { ModelBackend } from '../model-backend.js';
import type { AnsweredBatch, AnswerSettings } from './conversation-engine.js';
import { ALL_FEATURES } from './generation-scheduler.js';
import { InferencePool, type PoolOptions } from './inference-pool.js';

export interface OnnxEngineOptions extends PoolOptions, Omit<AnswerSettings, 'template'> {}

export const DEFAULT_ENGINE_OPTIONS = { features: ALL_FEATURES, constrained: true, maxNewTokens: 64 } as const;

export class OnnxBackend implements ModelBackend {
  private readonly totals = noInference();

  /** A backend over a running pool; several may share one (each with its own settings), the owner closes it. */
  constructor(
    readonly pool: InferencePool,
    readonly settings: AnswerSettings,
    private readonly ownsPool = false,
  ) {
    if (settings.constrained && !pool.constrainable) {
      throw new Error(`${pool.modelDir}: constrained decoding needs a byte-level BPE tokenizer; turn it off for this model`);
    }
  }

  static async start(template: PromptTemplate, options: Partial<OnnxEngineOptions> & { modelDir: string }): Promise<OnnxBackend> {
    const { features, constrained, maxNewTokens, ...poolOptions } = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    const pool = await InferencePool.start(poolOptions);
    try {
      return new OnnxBackend(pool, { template, features, constrained, maxNewTokens }, true);
    } catch (error) {
      await pool.close();
      throw error;
    }
  }

  get modelId(): string {
    return this.pool.modelId;
  }

  async answer(queries: Query[]): Promise<Answer[][]> {
    return (await this.answerWithStats(queries)).answers;
  }

  /** The answers with what they cost (tokens, forward passes). */
  async answerWithStats(queries: Query[]): Promise<AnsweredBatch> {
    const batch = await this.pool.answer(queries, this.settings);
    addInference(this.totals, batch.stats);
    return batch;
  }

  stats(): InferenceStats {
    return { ...this.totals };
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.close();
  }
}
