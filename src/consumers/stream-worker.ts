// The streaming worker: Kafka input → annotation → Kafka outputs, with metrics and probes.
import type { Server } from 'node:http';
import type { Consumer } from 'kafkajs';
import type { Topics } from '../domain/records.js';
import { createSchemaRegistry, type SchemaRegistrySettings } from '../domain/schema-registry.js';
import type { ModelBackend } from '../inference/model-backend.js';
import { createKafka, type KafkaConnection } from '../kafka/connection.js';
import { ensureTopics } from '../kafka/topics.js';
import { startProbeServer } from '../observability/probes.js';
import { createLog } from '../observability/log.js';
import { WorkerMetrics } from '../observability/metrics.js';
import { assemblePipeline, type PipelineSettings } from '../pipeline/assemble-pipeline.js';
import { RecordAnnotator } from '../pipeline/record-annotator.js';
import { OutputPublisher, type DeliveryMode } from '../producers/output-publisher.js';
import { DocumentConsumer } from './document-consumer.js';

export interface WorkerConfig {
  kafka: KafkaConnection;
  groupId: string;
  topics: Topics;
  pipeline: PipelineSettings;
  /** Documents consumed but not committed; partitions pause at this bound. */
  maxInFlightDocuments: number;
  maxDocumentChars: number;
  delivery: DeliveryMode;
  /** Names this instance's transactional producer (exactly-once). */
  instanceId: string;
  metricsPort: number;
  /** Where /metrics and the probes listen: 127.0.0.1 unless a pod's kubelet must reach them. */
  metricsHost: string;
  schemaRegistry?: SchemaRegistrySettings;
  /** A partition with uncommitted records and no commit for this long fails readiness. */
  stallTimeoutMs: number;
  shutdownTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Create the missing topics before joining: a dev cluster's setup. */
  createTopics?: { partitions: number; replicationFactor: number };
}

const log = createLog('worker');

export class StreamWorker {
  private stopping = false;
  private failed = false;

  private constructor(
    readonly metrics: WorkerMetrics,
    private readonly server: Server,
    private readonly backend: ModelBackend,
    private readonly consumer: Consumer,
    private readonly publisher: OutputPublisher,
    private readonly documents: DocumentConsumer,
  ) {}

  /** A worker in its group; a failed start (e.g. refused credentials) closes what it opened and throws. */
  static async start(config: WorkerConfig, onFatal: (error: unknown) => void): Promise<StreamWorker> {
    const opened: Array<() => Promise<unknown>> = [];
    try {
      return await StreamWorker.open(config, onFatal, opened);
    } catch (error) {
      await Promise.allSettled(opened.reverse().map((close) => close()));
      throw error;
    }
  }

  private static async open(config: WorkerConfig, onFatal: (error: unknown) => void, opened: Array<() => Promise<unknown>>): Promise<StreamWorker> {
    const metrics = new WorkerMetrics();
    let worker: StreamWorker | undefined;
    const server = await startProbeServer(config.metricsPort, config.metricsHost, metrics.registry, {
      healthy: () => !worker?.failed,
      ready: () => !!worker && !worker.stopping && worker.documents.joined && !worker.documents.stalled,
    });
    opened.push(() => new Promise((resolve) => server.close(resolve)));

    const pipeline = await assemblePipeline(config.pipeline, {
      onBatch: (size, seconds) => {
        metrics.batchSize.observe(size);
        metrics.inferenceSeconds.observe(seconds);
      },
      warn: (message) => log(message),
    });
    opened.push(() => pipeline.close());
    const { backend, batcher, annotator, entityTypes } = pipeline;
    metrics.watchBatchesInFlight(() => batcher.running);
    metrics.watchInference(() => backend.stats?.());

    const kafka = createKafka(config.kafka);
    if (config.createTopics) {
      const { partitions, replicationFactor } = config.createTopics;
      const created = await ensureTopics(kafka, config.topics, partitions, replicationFactor);
      if (created.length > 0) log('created topics', { topics: created, partitions, replicationFactor });
    }
    const consumer = kafka.consumer({
      groupId: config.groupId,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(config.sessionTimeoutMs / 10)),
      // Only committed transactional outputs of upstream producers are documents.
      readUncommitted: false,
      // kafkajs sleeps this long when every partition is paused: it bounds the resume latency.
      maxWaitTimeInMs: 250,
    });
    opened.push(() => consumer.disconnect());
    await consumer.connect();
    const publisher = await OutputPublisher.connect(kafka, consumer, {
      mode: config.delivery,
      groupId: config.groupId,
      transactionalId: `bioner-stream.${config.groupId}.${config.instanceId}`,
      transactionTimeoutMs: 15_000,
    });
    opened.push(() => publisher.disconnect());

    const records = new RecordAnnotator({
      annotator, entityTypes, topics: config.topics, metrics,
      registry: createSchemaRegistry(config.schemaRegistry),
      maxDocumentChars: config.maxDocumentChars,
      attempts: 3,
      retryBackoffMs: 500,
      stopping: () => !!worker?.stopping,
      log: (message) => log(message),
    });
    const fail = (error: unknown) => {
      if (worker) worker.failed = true;
      onFatal(error);
    };
    const documents = new DocumentConsumer(consumer, publisher, records.handle, {
      topic: config.topics.documents,
      maxInFlight: config.maxInFlightDocuments,
      flushIntervalMs: 20,
      stallTimeoutMs: config.stallTimeoutMs,
    }, metrics, (message) => log(message), fail);
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      log('consumer crashed', { error: payload.error.message, restart: payload.restart });
      if (!payload.restart) fail(payload.error);
    });

    worker = new StreamWorker(metrics, server, backend, consumer, publisher, documents);
    await documents.start();
    log('worker started', { group: config.groupId, input: config.topics.documents, delivery: config.delivery, model: backend.modelId });
    return worker;
  }

  /** Stops fetching, lets in-flight work finish until the deadline, commits it, disconnects. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    log('stopping', { timeoutMs });
    await this.documents.stop(Math.max(0, timeoutMs - 1000));
    // Closing the backend fails batches still running; their records stay uncommitted.
    await Promise.allSettled([this.publisher.disconnect(), this.consumer.disconnect(), this.backend.close()]);
    await new Promise((resolve) => this.server.close(resolve));
    log('stopped');
  }
}
