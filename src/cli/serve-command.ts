// `bioner-stream serve`: the inference server (src/serving). Every flag also reads BIONER_<FLAG>.
import { CLIENT_HEADER } from '../inference/remote/answer-protocol.js';
import { InferenceServer, type ServeConfig } from '../serving/inference-server.js';
import { defaultPipelineSettings, ENGINE_OPTIONS, engineSettings, PIPELINE_OPTIONS } from './common-options.js';
import { EntityTypes } from '../stages/entity-types.js';
import { integer, list, parseCommandLine, text, UsageError } from './options.js';
import { onShutdown, untilShutdown } from './shutdown.js';

const OPTIONS = {
  model: text('DIR', 'ONNX model directory; the full CLI fills in the shipped fine-tuned model', { required: true }),
  host: text('HOST', 'address to listen on (a pod sets 0.0.0.0)', '127.0.0.1'),
  port: integer('0 picks a free port', 8080, { min: 0, max: 65_535 }),
  ...ENGINE_OPTIONS,
  // Requests from many workers meet here: bigger batches, and a shorter wait since they fill fast.
  'job-batch-size': integer('jobs (native queries or chats) per batch on an inference thread', 16),
  'job-batch-wait-ms': integer('longest a job waits for its batch to fill', 10),
  'max-queued': integer('waiting queries and chats before 503', 1024),
  'max-queued-per-client': integer(`waiting per client (header ${CLIENT_HEADER} or address) before 429`, 256),
  'queue-timeout-ms': integer("wait for a request's work to start before 503", 60_000),
  'max-body-bytes': integer('larger request bodies get 413', 1 << 20),
  'inference-token': text('TOKEN', 'bearer token required on /v1/*; read it from a Secret'),
  'max-completion-tokens': integer('bound on max_tokens of a chat completion', 256),
  // /v1/entities and the viewer: the pipeline `annotate` runs, over this server's model.
  types: list('LIST', 'entity types /v1/entities and the viewer ask when a request names none', ['chemical', 'disease', 'gene', 'species']),
  template: PIPELINE_OPTIONS.template,
  lexicons: PIPELINE_OPTIONS.lexicons,
  'max-texts-per-request': integer('texts (or documents) one /v1/entities request may carry; more get 413', 64),
  'shutdown-timeout-ms': integer('drain time on SIGTERM', 30_000),
};

const COMMAND_LINE = {
  synopsis: `usage: bioner-stream serve [options]     (each option also reads BIONER_<OPTION>, e.g. BIONER_MODEL)

Endpoints: POST /v1/answers (native batches), POST /v1/chat/completions (OpenAI-compatible,
greedy), GET /v1/models, POST /v1/entities (texts in, entity records out), GET /v1/entity-types,
the viewer page at /, /healthz, /readyz (model loaded and warmed up, not draining), /metrics.`,
  options: OPTIONS,
};

export function serveConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig & { shutdownTimeoutMs: number } {
  const { values: o } = parseCommandLine(argv, { ...COMMAND_LINE, env });
  // Refused before minutes of model loading, as a usage mistake.
  const problem = EntityTypes.load().typeListProblem(o.types);
  if (problem !== undefined) throw new UsageError(`--types: ${problem}`);
  // Every other pipeline setting at the default `annotate` has.
  const { model: _model, engine: _engine, queryBatches: _batches, ...pipeline } = defaultPipelineSettings(o.model, o.types);
  return {
    model: o.model,
    host: o.host,
    port: o.port,
    engine: engineSettings(o),
    batchSize: o['job-batch-size'],
    batchWaitMs: o['job-batch-wait-ms'],
    maxQueued: o['max-queued'],
    maxQueuedPerClient: o['max-queued-per-client'],
    queueTimeoutMs: o['queue-timeout-ms'],
    maxBodyBytes: o['max-body-bytes'],
    ...(o['inference-token'] ? { token: o['inference-token'] } : {}),
    maxCompletionTokens: o['max-completion-tokens'],
    pipeline: { ...pipeline, template: o.template, lexicons: o.lexicons },
    maxTextsPerRequest: o['max-texts-per-request'],
    shutdownTimeoutMs: o['shutdown-timeout-ms'],
  };
}

export async function serveCommand(argv: string[]): Promise<void> {
  const config = serveConfig(argv);
  const server = await InferenceServer.start(config);
  onShutdown(config.shutdownTimeoutMs, () => server.drain(config.shutdownTimeoutMs));
  await untilShutdown();
}
