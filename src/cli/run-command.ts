// `bioner-stream run`: the consumer-group worker. Every flag has an environment variable
// (BIONER_ + the flag in upper snake case), so a ConfigMap can configure a pod.
import { hostname } from 'node:os';
import { StreamWorker, type WorkerConfig } from '../consumers/stream-worker.js';
import { reachCluster } from '../kafka/connection.js';
import { checkPipelineSettings, inferenceThreads, PIPELINE_OPTIONS, pipelineSettings } from './common-options.js';
import { KAFKA_OPTIONS, kafkaConnection, SCHEMA_REGISTRY_OPTIONS, schemaRegistrySettings, TOPIC_OPTIONS, topicNames } from './kafka-options.js';
import { choice, integer, list, parseCommandLine, text, toggle } from './options.js';
import { onShutdown, untilShutdown } from './shutdown.js';

const OPTIONS = {
  ...KAFKA_OPTIONS,
  'group-id': text('ID', 'consumer group', 'bioner-stream'),
  ...TOPIC_OPTIONS,
  'create-topics': toggle('create the four topics where missing, then run (a dev cluster)'),
  'topic-partitions': integer('partitions of the topics --create-topics creates', 3),
  'topic-replication': integer('replication factor of the topics --create-topics creates', 1),
  types: list('LIST', 'entity types when a document names none', ['disease']),
  ...PIPELINE_OPTIONS,
  // A worker pod requests one core: one thread, unless the model runs elsewhere anyway.
  'inference-threads': inferenceThreads(1),
  'max-in-flight': integer('documents consumed but uncommitted before partitions pause', 64),
  'max-document-chars': integer('longer documents go to the dead-letter topic', 100_000),
  delivery: choice(['at-least-once', 'exactly-once'] as const, 'when an input offset is committed', 'at-least-once'),
  'instance-id': text('ID', 'names the transactional producer', hostname(), 'the host name'),
  'metrics-port': integer('/metrics, /healthz, /readyz; 0 picks a free port', 9464, { min: 0, max: 65_535 }),
  'metrics-host': text('HOST', 'address of /metrics and the probes (a pod sets 0.0.0.0)', '127.0.0.1'),
  'stall-timeout-ms': integer('a partition with uncommitted records and no commit for this long fails /readyz', 300_000),
  ...SCHEMA_REGISTRY_OPTIONS,
  'shutdown-timeout-ms': integer('drain time on SIGTERM', 20_000),
  'session-timeout-ms': integer('consumer group session timeout', 30_000),
};

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream run [options]     (each option also reads BIONER_<OPTION>, e.g. BIONER_BROKERS)',
  options: OPTIONS,
};

export function workerConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const { values: o } = parseCommandLine(argv, { ...COMMAND_LINE, env });
  const schemaRegistry = schemaRegistrySettings(o);
  return {
    kafka: kafkaConnection(o),
    groupId: o['group-id'],
    topics: topicNames(o),
    pipeline: pipelineSettings(o, o.types),
    maxInFlightDocuments: o['max-in-flight'],
    maxDocumentChars: o['max-document-chars'],
    delivery: o.delivery,
    instanceId: o['instance-id'],
    metricsPort: o['metrics-port'],
    metricsHost: o['metrics-host'],
    stallTimeoutMs: o['stall-timeout-ms'],
    ...(schemaRegistry ? { schemaRegistry } : {}),
    shutdownTimeoutMs: o['shutdown-timeout-ms'],
    sessionTimeoutMs: o['session-timeout-ms'],
    ...(o['create-topics'] ? { createTopics: { partitions: o['topic-partitions'], replicationFactor: o['topic-replication'] } } : {}),
  };
}

export async function runCommand(argv: string[]): Promise<void> {
  const config = workerConfig(argv);
  checkPipelineSettings(config.pipeline);
  // Before the model loads: a missing broker is one line at once, not after the load and a minute of retries.
  await reachCluster(config.kafka);
  let worker: StreamWorker | undefined;
  // A signal while the worker starts exits at once: nothing is consumed yet.
  const shutdown = onShutdown(config.shutdownTimeoutMs, async () => worker?.stop(config.shutdownTimeoutMs));
  worker = await StreamWorker.start(config, (error) => {
    console.error(`bioner-stream run: fatal: ${(error as Error)?.message ?? error}`);
    shutdown(1);
  });
  await untilShutdown();
}
