// Prometheus metrics of the streaming worker: bioner_ prefix, base units (seconds, counts).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerInferenceCounters, type InferenceStats } from './inference-stats.js';

/** LLM batches take from tens of milliseconds (oracle, GPU) to minutes (CPU, long documents). */
const LLM_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320];
/** Batch sizes, for the workers' batches and the server's. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

export class WorkerMetrics {
  readonly registry = new Registry();

  readonly documents = this.counter('bioner_documents_total', 'Input documents handled, by outcome.', ['outcome']);
  readonly sentences = this.counter('bioner_sentences_total', 'Sentences annotated.');
  readonly entities = this.counter('bioner_entities_total', 'Entity records published, by canonical type.', ['type']);
  readonly deadLetters = this.counter('bioner_dead_letters_total', 'Messages sent to the dead-letter topic, by reason.', ['reason']);
  readonly ungroundedAnswers = this.counter('bioner_ungrounded_answers_total', 'Answer strings not found in their sentence, dropped.');
  readonly invalidAnswers = this.counter('bioner_invalid_answers_total', 'Answers that were not a well-formed list.');
  readonly inferenceUnavailable = this.counter('bioner_inference_unavailable_total',
    'Inference attempts that found no server available; the document waited and was retried.');
  readonly registryUnavailable = this.counter('bioner_schema_registry_unavailable_total',
    'Schema registry requests that failed or timed out; the record waited and was retried.');
  readonly handlerFaults = this.counter('bioner_handler_faults_total',
    'Records whose handling failed unexpectedly (a fault of the worker); each was retried.');
  /** The backend keeps the totals; the inference counters read them at scrape time (see `watchInference`). */
  private readInference: () => InferenceStats | undefined = () => undefined;
  readonly batchSize = new Histogram({
    name: 'bioner_inference_batch_size', help: 'Sentences per inference batch.',
    buckets: BATCH_SIZE_BUCKETS, registers: [this.registry],
  });
  readonly inferenceSeconds = new Histogram({
    name: 'bioner_inference_duration_seconds', help: 'Time to answer one inference batch.',
    buckets: LLM_LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly endToEndSeconds = new Histogram({
    name: 'bioner_end_to_end_latency_seconds',
    help: "From the input record's timestamp to the broker's ack of the document's last output.",
    buckets: LLM_LATENCY_BUCKETS, registers: [this.registry],
  });
  /** Read at scrape time from the batcher; see `watchBatchesInFlight`. */
  private readBatchesInFlight = () => 0;
  readonly batchesInFlight: Gauge = new Gauge({
    name: 'bioner_inflight_batches', help: 'Inference batches running.', registers: [this.registry],
    collect: (): void => this.batchesInFlight.set(this.readBatchesInFlight()),
  });
  readonly documentsInFlight = this.gauge('bioner_inflight_documents', 'Documents consumed but not yet committed.');
  readonly pausedPartitions = this.gauge('bioner_paused_partitions', 'Input partitions paused for backpressure.');
  /** Read at scrape time from the consumer; see `watchPartitionStalls`. */
  private readPartitionStalls = () => new Map<number, number>();
  readonly partitionStallSeconds: Gauge<'partition'> = new Gauge({
    name: 'bioner_partition_stall_seconds', labelNames: ['partition'], registers: [this.registry],
    help: 'Seconds since the partition last committed, while it has uncommitted records.',
    collect: (): void => {
      this.partitionStallSeconds.reset();
      for (const [partition, ms] of this.readPartitionStalls()) this.partitionStallSeconds.set({ partition: String(partition) }, ms / 1000);
    },
  });
  readonly consumerLag = this.gauge('bioner_consumer_lag', 'Messages behind the high watermark, by partition.', ['topic', 'partition']);

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    registerInferenceCounters(this.registry, () => this.readInference());
  }

  watchBatchesInFlight(read: () => number): void {
    this.readBatchesInFlight = read;
  }

  watchPartitionStalls(read: () => Map<number, number>): void {
    this.readPartitionStalls = read;
  }

  watchInference(read: () => InferenceStats | undefined): void {
    this.readInference = read;
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
