// `bioner-stream run`: the consumer-group worker. Every flag has an environment variable
// (BIONER_ + the flag in upper snake case), so a ConfigMap can configure a pod.
import { hostname } from 'node:os';
import { StreamWorker, type WorkerConfig } from '../consumers/stream-worker.js';
import { DEFAULT_POOL_OPTIONS } from '../inference/remote/endpoint-pool.js';
import { SASL_MECHANISMS } from '../kafka/connection.js';
import { DEFAULT_TOPICS } from '../kafka/topics.js';
import { LEXICON_SPEC_HELP } from '../pipeline/concept-lexicons.js';
import { DEFAULT_LINK_THRESHOLD } from '../stages/concepts/concept-linker.js';
import { BATCHING, inferenceWorkers, maxNewTokens } from './common-options.js';
import { choice, fraction, integer, list, parseCommandLine, text, UsageError } from './options.js';
import { onShutdown, untilShutdown } from './shutdown.js';

const OPTIONS = {
  brokers: list('LIST', 'bootstrap brokers, comma-separated', ['localhost:9092']),
  'kafka-ssl': choice(['true', 'false'] as const, 'TLS to the brokers', 'false'),
  'kafka-ca-file': text('FILE', "PEM CA bundle the brokers' certificates are checked against (default: the system CAs)"),
  'kafka-cert-file': text('FILE', 'PEM client certificate, for brokers that require mutual TLS'),
  'kafka-key-file': text('FILE', 'PEM key of the client certificate'),
  'kafka-ssl-verify': choice(['true', 'false'] as const, "check the brokers' certificates and host names", 'true'),
  'kafka-sasl-mechanism': choice(['none', ...SASL_MECHANISMS] as const, 'SASL authentication', 'none'),
  'kafka-sasl-username': text('NAME', 'SASL user'),
  'kafka-sasl-password': text('SECRET', 'SASL password; set BIONER_KAFKA_SASL_PASSWORD from a Secret'),
  'client-id': text('ID', 'Kafka client id', 'bioner-stream'),
  'group-id': text('ID', 'consumer group', 'bioner-stream'),
  'input-topic': text('T', 'Avro Documents in', DEFAULT_TOPICS.documents),
  'entities-topic': text('T', 'EntityRecords out', DEFAULT_TOPICS.entities),
  'annotated-topic': text('T', 'AnnotatedDocuments out', DEFAULT_TOPICS.annotated),
  'dlq-topic': text('T', 'dead letters', DEFAULT_TOPICS.deadLetters),
  model: text('DIR|oracle:FILE|remote:URL[,URL]|openai:URL[,URL]', 'model directory, oracle gold file, bioner-stream serve ' +
    'servers or OpenAI-compatible servers (?model=NAME, else the first listed); the full CLI fills in the shipped ' +
    'fine-tuned model', { required: true }),
  guidelines: text('NAME', "one corpus guideline for every type (default: each group of types under the model's corpus that fits it best)"),
  template: text('NAME|FILE', 'prompt template', 'conv_term'),
  types: list('LIST', 'entity types when a document names none', ['disease']),
  ...BATCHING,
  concurrency: integer('inference batches in flight', 2),
  'max-in-flight': integer('documents consumed but uncommitted before partitions pause', 64),
  'max-document-chars': integer('longer documents go to the dead-letter topic', 100_000),
  'max-sentences': integer('documents that split into more sentences go to the dead-letter topic', 5_000),
  delivery: choice(['at-least-once', 'exactly-once'] as const, 'when an input offset is committed', 'at-least-once'),
  'instance-id': text('ID', 'names the transactional producer', hostname(), 'the host name'),
  'metrics-port': integer('/metrics, /healthz, /readyz; 0 picks a free port', 9464, { min: 0, max: 65_535 }),
  'metrics-host': text('HOST', 'address of /metrics and the probes (a pod sets 0.0.0.0)', '127.0.0.1'),
  'stall-timeout-ms': integer('a partition with uncommitted records and no commit for this long fails /readyz', 300_000),
  'schema-registry-url': text('URL', 'Confluent Schema Registry, base path included (Apicurio: …/apis/ccompat/v7); ' +
    'without it, fixed schema ids 1-3'),
  'schema-registry-user': text('NAME', 'basic auth user of the schema registry'),
  'schema-registry-password': text('SECRET', 'its password; set BIONER_SCHEMA_REGISTRY_PASSWORD from a Secret'),
  'schema-registry-token': text('TOKEN', 'bearer token of the schema registry; set BIONER_SCHEMA_REGISTRY_TOKEN from a Secret'),
  'schema-registry-timeout-ms': integer('bound on each schema registry request', 10_000),
  // A worker pod requests one core: one thread, unless the model runs elsewhere anyway.
  'inference-workers': inferenceWorkers(1),
  'max-new-tokens': maxNewTokens(),
  'inference-timeout-ms': integer('bound on each request to an inference server', DEFAULT_POOL_OPTIONS.timeoutMs),
  'inference-token': text('TOKEN', 'the bearer token of bioner-stream serve; set BIONER_INFERENCE_TOKEN from a Secret'),
  'shutdown-timeout-ms': integer('drain time on SIGTERM', 20_000),
  'session-timeout-ms': integer('consumer group session timeout', 30_000),
  lexicons: text('SPEC', LEXICON_SPEC_HELP, 'default'),
  'link-threshold': fraction('lowest character-trigram similarity accepted as a concept', DEFAULT_LINK_THRESHOLD),
  'abbreviation-grounding': choice(['on', 'off'] as const, 'a long form the model named grounds its short form elsewhere', 'on'),
};

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream run [options]     (each option also reads BIONER_<OPTION>, e.g. BIONER_BROKERS)',
  options: OPTIONS,
};

export function workerConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const { values: o } = parseCommandLine(argv, { ...COMMAND_LINE, env });
  const mechanism = o['kafka-sasl-mechanism'];
  return {
    kafka: {
      brokers: o.brokers,
      clientId: o['client-id'],
      ...(o['kafka-ssl'] === 'true' ? {
        tls: {
          verify: o['kafka-ssl-verify'] === 'true',
          ...(o['kafka-ca-file'] ? { caFile: o['kafka-ca-file'] } : {}),
          ...(o['kafka-cert-file'] ? { certFile: o['kafka-cert-file'] } : {}),
          ...(o['kafka-key-file'] ? { keyFile: o['kafka-key-file'] } : {}),
        },
      } : {}),
      ...(mechanism !== 'none' ? {
        sasl: { mechanism, username: o['kafka-sasl-username'] ?? '', password: o['kafka-sasl-password'] ?? '' },
      } : {}),
    },
    groupId: o['group-id'],
    topics: { documents: o['input-topic'], entities: o['entities-topic'], annotated: o['annotated-topic'], deadLetters: o['dlq-topic'] },
    model: o.model,
    ...(o.guidelines ? { guidelines: o.guidelines } : {}),
    template: o.template,
    defaultTypes: o.types,
    batchSize: o['batch-size'],
    batchWaitMs: o['batch-wait-ms'],
    concurrency: o.concurrency,
    maxInFlightDocuments: o['max-in-flight'],
    maxDocumentChars: o['max-document-chars'],
    maxSentences: o['max-sentences'],
    delivery: o.delivery,
    instanceId: o['instance-id'],
    metricsPort: o['metrics-port'],
    metricsHost: o['metrics-host'],
    stallTimeoutMs: o['stall-timeout-ms'],
    ...(o['schema-registry-url'] ? {
      schemaRegistry: { url: o['schema-registry-url'], timeoutMs: o['schema-registry-timeout-ms'], ...registryAuthorization(o) },
    } : {}),
    inferenceWorkers: o['inference-workers'],
    maxNewTokens: o['max-new-tokens'],
    inferenceTimeoutMs: o['inference-timeout-ms'],
    ...(o['inference-token'] ? { inferenceToken: o['inference-token'] } : {}),
    shutdownTimeoutMs: o['shutdown-timeout-ms'],
    sessionTimeoutMs: o['session-timeout-ms'],
    lexicons: o.lexicons,
    linkThreshold: o['link-threshold'],
    abbreviationGrounding: o['abbreviation-grounding'] === 'on',
  };
}

/** Basic auth from user and password, or a bearer token; not both. */
function registryAuthorization(o: { 'schema-registry-user'?: string; 'schema-registry-password'?: string; 'schema-registry-token'?: string }) {
  const user = o['schema-registry-user'];
  const token = o['schema-registry-token'];
  if (user !== undefined && token !== undefined) throw new UsageError('give --schema-registry-user or --schema-registry-token, not both');
  if (user !== undefined) {
    return { authorization: `Basic ${Buffer.from(`${user}:${o['schema-registry-password'] ?? ''}`).toString('base64')}` };
  }
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

export async function runCommand(argv: string[]): Promise<void> {
  const config = workerConfig(argv);
  let worker: StreamWorker | undefined;
  // A signal while the worker starts exits at once: nothing is consumed yet.
  const shutdown = onShutdown(config.shutdownTimeoutMs, async () => worker?.stop(config.shutdownTimeoutMs));
  worker = await StreamWorker.start(config, (error) => {
    console.error(`bioner-stream run: fatal: ${(error as Error)?.message ?? error}`);
    shutdown(1);
  });
  await untilShutdown();
}
