// `bioner-stream run`: the consumer-group worker. Every flag has an environment variable
// (BIONER_ + the flag in upper snake case), so a ConfigMap can configure a pod.
import { hostname } from 'node:os';
import { DEFAULT_POOL_OPTIONS } from '../inference/remote/endpoint-pool.js';
import { DEFAULT_TOPICS } from '../kafka/topics.js';
import { StreamWorker, type WorkerConfig } from '../pipeline/stream-worker.js';
import { DEFAULT_LINK_THRESHOLD } from '../stages/concepts/concept-linker.js';
import { envBackedOptions, fraction, oneOf, UsageError } from './args.js';
import { onShutdown, untilShutdown } from './shutdown.js';

const USAGE = `usage: bioner-stream run [options]     (each option also reads BIONER_<OPTION>, e.g. BIONER_BROKERS)

  --brokers LIST             bootstrap brokers, comma-separated (default localhost:9092)
  --client-id ID             Kafka client id (default bioner-stream)
  --group-id ID              consumer group (default bioner-stream)
  --input-topic T            (default ${DEFAULT_TOPICS.documents})
  --entities-topic T         (default ${DEFAULT_TOPICS.entities})
  --annotated-topic T        (default ${DEFAULT_TOPICS.annotated})
  --dlq-topic T              (default ${DEFAULT_TOPICS.deadLetters})
  --model DIR|oracle:FILE|remote:URL[,URL]|openai:URL[,URL]
                             model directory, oracle gold file, bioner-stream serve servers or
                             OpenAI-compatible servers (?model=NAME, else the first listed) (required)
  --template NAME|FILE       prompt template (default conv_term)
  --types LIST               entity types when a document names none (default disease)
  --batch-size N             sentences per inference batch (default 8)
  --batch-wait-ms N          longest wait for a batch to fill (default 50)
  --concurrency N            inference batches in flight (default 2)
  --max-in-flight N          documents consumed but uncommitted before partitions pause (default 64)
  --max-document-chars N     longer documents go to the dead-letter topic (default 100000)
  --delivery MODE            at-least-once (default) or exactly-once
  --instance-id ID           names the transactional producer (default the host name)
  --metrics-port N           /metrics, /healthz, /readyz (default 9464; 0 picks a free port)
  --schema-registry-url URL  Confluent Schema Registry; without it, fixed schema ids 1-3
  --inference-workers N      inference threads (default 1)
  --max-new-tokens N         bound on each answer (default 64)
  --inference-timeout-ms N   bound on each request to an inference server (default ${DEFAULT_POOL_OPTIONS.timeoutMs})
  --inference-token TOKEN    the bearer token of bioner-stream serve; set BIONER_INFERENCE_TOKEN from a Secret
  --shutdown-timeout-ms N    drain time on SIGTERM (default 20000)
  --session-timeout-ms N     consumer group session timeout (default 30000)
  --lexicons SPEC            concept lexicons: default (from the training corpora's gold ids), none, or
                             TYPE=FILE[,TYPE=FILE] (CTD_*.tsv[.gz], id/name/synonyms TSV, .obo)
  --link-threshold X         lowest character-trigram similarity accepted as a concept (default ${DEFAULT_LINK_THRESHOLD})
  --abbreviation-grounding on|off   a long form the model named grounds its short form elsewhere (default on)

Secured clusters: BIONER_KAFKA_SSL=true, BIONER_KAFKA_SASL_MECHANISM=plain|scram-sha-256|scram-sha-512,
BIONER_KAFKA_SASL_USERNAME, BIONER_KAFKA_SASL_PASSWORD.`;

const FLAGS = [
  'brokers', 'client-id', 'group-id', 'input-topic', 'entities-topic', 'annotated-topic', 'dlq-topic', 'model',
  'template', 'types', 'batch-size', 'batch-wait-ms', 'concurrency', 'max-in-flight', 'max-document-chars',
  'delivery', 'instance-id', 'metrics-port', 'schema-registry-url', 'inference-workers', 'max-new-tokens',
  'inference-timeout-ms', 'inference-token', 'shutdown-timeout-ms', 'session-timeout-ms',
  'lexicons', 'link-threshold', 'abbreviation-grounding',
] as const;

export function workerConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const { get, int } = envBackedOptions(argv, FLAGS, USAGE, env);
  const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

  const model = get('model');
  if (!model) throw new UsageError('missing --model (or BIONER_MODEL)');
  const metricsPort = Number(get('metrics-port') ?? 9464);
  if (!Number.isInteger(metricsPort) || metricsPort < 0) throw new UsageError(`bad --metrics-port "${get('metrics-port')}"`);
  return {
    kafka: {
      brokers: list(get('brokers') ?? 'localhost:9092'),
      clientId: get('client-id') ?? 'bioner-stream',
      ssl: env.BIONER_KAFKA_SSL === 'true',
      ...(env.BIONER_KAFKA_SASL_MECHANISM ? {
        sasl: {
          mechanism: oneOf(env.BIONER_KAFKA_SASL_MECHANISM, ['plain', 'scram-sha-256', 'scram-sha-512'] as const, 'BIONER_KAFKA_SASL_MECHANISM'),
          username: env.BIONER_KAFKA_SASL_USERNAME ?? '',
          password: env.BIONER_KAFKA_SASL_PASSWORD ?? '',
        },
      } : {}),
    },
    groupId: get('group-id') ?? 'bioner-stream',
    topics: {
      documents: get('input-topic') ?? DEFAULT_TOPICS.documents,
      entities: get('entities-topic') ?? DEFAULT_TOPICS.entities,
      annotated: get('annotated-topic') ?? DEFAULT_TOPICS.annotated,
      deadLetters: get('dlq-topic') ?? DEFAULT_TOPICS.deadLetters,
    },
    model,
    template: get('template') ?? 'conv_term',
    defaultTypes: list(get('types') ?? 'disease'),
    batchSize: int('batch-size', 8),
    batchWaitMs: int('batch-wait-ms', 50),
    concurrency: int('concurrency', 2),
    maxInFlightDocuments: int('max-in-flight', 64),
    maxDocumentChars: int('max-document-chars', 100_000),
    delivery: oneOf(get('delivery') ?? 'at-least-once', ['at-least-once', 'exactly-once'] as const, '--delivery'),
    instanceId: get('instance-id') ?? hostname(),
    metricsPort,
    ...(get('schema-registry-url') ? { schemaRegistryUrl: get('schema-registry-url') } : {}),
    inferenceWorkers: int('inference-workers', 1),
    maxNewTokens: int('max-new-tokens', 64),
    inferenceTimeoutMs: int('inference-timeout-ms', DEFAULT_POOL_OPTIONS.timeoutMs),
    ...(get('inference-token') ? { inferenceToken: get('inference-token') } : {}),
    shutdownTimeoutMs: int('shutdown-timeout-ms', 20_000),
    sessionTimeoutMs: int('session-timeout-ms', 30_000),
    lexicons: get('lexicons') ?? 'default',
    linkThreshold: fraction(get('link-threshold'), DEFAULT_LINK_THRESHOLD, '--link-threshold'),
    abbreviationGrounding: oneOf(get('abbreviation-grounding') ?? 'on', ['on', 'off'] as const, '--abbreviation-grounding') === 'on',
  };
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
