// Prometheus metrics of the inference server: queue, batches, tokens and request latency.
// Batches and requests are bioner_server_*, apart from the workers' own bioner_inference_*
// batches; the token counters are the workers' (observability/inference-stats.ts), so sums over
// pods count every token once (a worker with a remote model counts none).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { noInference, registerInferenceCounters } from '../observability/inference-stats.js';
import { BATCH_SIZE_BUCKETS } from '../observability/metrics.js';

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160];

export type Endpoint = 'answers' | 'chat_completions' | 'models' | 'entities' | 'entity_types' | 'viewer' | 'unknown';

export class ServerMetrics {
  readonly registry = new Registry();

  private readQueue = { queued: () => 0, running: () => 0 };
  /** The HPA scales inference pods on this (docs/deployment.md). */
  readonly queueDepth: Gauge = new Gauge({
    name: 'bioner_inference_queue_depth', help: 'Queries and chats waiting for a batch.', registers: [this.registry],
    collect: (): void => this.queueDepth.set(this.readQueue.queued()),
  });
  readonly runningBatches: Gauge = new Gauge({
    name: 'bioner_server_running_batches', help: 'Batches in the model now.', registers: [this.registry],
    collect: (): void => this.runningBatches.set(this.readQueue.running()),
  });
  readonly batchSize = new Histogram({
    name: 'bioner_server_batch_size', help: 'Queries or chats per model batch.', labelNames: ['endpoint'],
    buckets: BATCH_SIZE_BUCKETS, registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'bioner_server_batch_duration_seconds', help: 'Time the model took for one batch.', labelNames: ['endpoint'],
    buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'bioner_server_request_duration_seconds', help: 'From request to reply, queueing included.',
    labelNames: ['endpoint'], buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly requests = new Counter({
    name: 'bioner_server_requests_total', help: 'Requests answered, by endpoint and HTTP status.',
    labelNames: ['endpoint', 'code'], registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'bioner_server_rejected_total',
    help: 'Requests refused for overload or shutdown (queue_full, client_over_share, draining, timeout).',
    labelNames: ['reason'], registers: [this.registry],
  });
  /** What the model did for every endpoint; the batches add to it, the counters read it. */
  readonly inference = noInference();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    registerInferenceCounters(this.registry, () => this.inference);
  }

  watchQueue(queued: () => number, running: () => number): void {
    this.readQueue = { queued, running };
  }
}
