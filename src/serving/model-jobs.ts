// The server's unit of work and how a batch of it runs on the inference pool. Both endpoints
// share one batcher, so one queue bound, one fairness rule and one set of runners apply; a
// batch holds jobs of one key only: native queries with the same template and types, or chats
// with the same token bound.
import { createHash } from 'node:crypto';
import type { PromptTemplate } from '../domain/prompt-template.js';
import type { Answer, ChatMessage, Query } from '../domain/types.js';
import { DynamicBatcher, QueueFullError, QueueTimeoutError, type DynamicBatcherOptions } from '../inference/dynamic-batcher.js';
import { InferenceUnavailableError, type ModelBackend } from '../inference/model-backend.js';
import type { Completion } from '../inference/onnx/chat-completion.js';
import type { AnswerSettings } from '../inference/onnx/conversation-engine.js';
import type { InferencePool } from '../inference/onnx/inference-pool.js';
import { addInference } from '../observability/inference-stats.js';
import { queryKey } from '../inference/query-batcher.js';
import type { Endpoint, ServerMetrics } from './server-metrics.js';

export type Job =
  | { kind: 'answer'; query: Query; template: PromptTemplate; templateKey: string }
  | { kind: 'chat'; conversation: ChatMessage[]; maxTokens: number };

export type JobResult = Answer[] | Completion;

export type JobBatcher = DynamicBatcher<Job, JobResult>;

/** Templates are compared by content: two workers sending the same template share batches. */
export const templateKey = (template: PromptTemplate): string =>
  createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 16);

const ENDPOINT_OF: Record<Job['kind'], Endpoint> = { answer: 'answers', chat: 'chat_completions' };

export interface JobBatcherOptions extends Pick<DynamicBatcherOptions<Job, JobResult>, 'batchSize' | 'maxQueued' | 'maxQueuedPerClient' | 'onBatch'> {
  maxWaitMs: number;
  /** How native queries are answered; each request brings its own template. */
  settings: Omit<AnswerSettings, 'template'>;
}

export function jobBatcher(pool: InferencePool, metrics: ServerMetrics, options: JobBatcherOptions): JobBatcher {
  const { settings, ...batching } = options;
  const run = async (jobs: Job[]): Promise<JobResult[]> => {
    const first = jobs[0]!;
    const started = performance.now();
    const results = first.kind === 'answer'
      ? await answer(pool, metrics, { ...settings, template: first.template }, jobs as Extract<Job, { kind: 'answer' }>[])
      : await complete(pool, metrics, first.maxTokens, jobs as Extract<Job, { kind: 'chat' }>[]);
    const endpoint = ENDPOINT_OF[first.kind];
    metrics.batchSize.observe({ endpoint }, jobs.length);
    metrics.batchSeconds.observe({ endpoint }, (performance.now() - started) / 1000);
    return results;
  };
  const batcher = new DynamicBatcher<Job, JobResult>({
    run,
    keyOf: (job) => (job.kind === 'answer' ? `answer\0${job.templateKey}\0${queryKey(job.query)}` : `chat\0${job.maxTokens}`),
    // Two batches in flight per worker: one joins the worker's running batch as the other drains.
    concurrency: 2 * pool.size,
    // One client's bad chat or query must not fail the other clients' requests in its batch.
    isolateFailures: () => true,
    ...batching,
  });
  metrics.watchQueue(() => batcher.queued, () => batcher.running);
  return batcher;
}

async function answer(pool: InferencePool, metrics: ServerMetrics, settings: AnswerSettings, jobs: Extract<Job, { kind: 'answer' }>[]) {
  const { answers, stats } = await pool.answer(jobs.map((j) => j.query), settings);
  addInference(metrics.inference, stats);
  return answers;
}

async function complete(pool: InferencePool, metrics: ServerMetrics, maxTokens: number, jobs: Extract<Job, { kind: 'chat' }>[]) {
  const { completions, stats } = await pool.complete(jobs.map((j) => j.conversation), maxTokens);
  addInference(metrics.inference, stats);
  return completions;
}

/** The client whose share of the queue /v1/entities' work takes, all requests together. */
export const ENTITIES_CLIENT = 'bioner-stream/entities';

/**
 * The server's model as a pipeline's backend: /v1/entities' queries join the same queue, bounds
 * and batches as the workers' native queries, as one client. A full queue or a timeout is
 * InferenceUnavailableError (the pipeline must not split the batch to find a culprit), caused by
 * the batcher's own error, which the server answers as it answers any request's.
 */
export function servedModel(jobs: JobBatcher, modelId: string, template: PromptTemplate, queueTimeoutMs: number): ModelBackend {
  const key = templateKey(template);
  return {
    modelId,
    async answer(queries: Query[]): Promise<Answer[][]> {
      try {
        const submitted = queries.map((query): Job => ({ kind: 'answer', query, template, templateKey: key }));
        return (await jobs.submit(submitted, { client: ENTITIES_CLIENT, queueTimeoutMs })) as Answer[][];
      } catch (error) {
        if (error instanceof QueueFullError || error instanceof QueueTimeoutError) {
          throw new InferenceUnavailableError(error.message, { cause: error });
        }
        throw error;
      }
    },
    close: async () => {},
  };
}
