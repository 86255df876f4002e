// `bioner-stream serve`: the inference server (src/serving). Every flag also reads BIONER_<FLAG>.
import { DEFAULT_MODEL_DIR, ensureDefaultModel } from '../inference/default-model.js';
import { EXECUTION_PROVIDERS, MODEL_DTYPES } from '../inference/onnx/decoder-session.js';
import { DEFAULT_ENGINE_OPTIONS } from '../inference/onnx/onnx-backend.js';
import { CLIENT_HEADER } from '../inference/remote/answer-protocol.js';
import { InferenceServer, type ServeConfig } from '../serving/inference-server.js';
import { envBackedOptions, oneOf, UsageError } from './args.js';
import { onShutdown, untilShutdown } from './shutdown.js';

const USAGE = `usage: bioner-stream serve [options]     (each option also reads BIONER_<OPTION>, e.g. BIONER_MODEL)

Endpoints: POST /v1/answers (native batches), POST /v1/chat/completions (OpenAI-compatible,
greedy), GET /v1/models, /healthz, /readyz (model loaded and warmed up, not draining), /metrics.

  --model DIR                    ONNX model directory (default: SmolLM2-135M-Instruct with the
                                 shipped conv_term adapter, merged on first use)
  --host HOST                    (default 0.0.0.0)
  --port N                       (default 8080; 0 picks a free port)
  --execution-provider cpu|cuda  (default cpu; cuda needs the CUDA install, docs/deployment.md)
  --dtype ${MODEL_DTYPES.join('|')}   which weights to load (default fp32)
  --inference-workers N          inference threads, one batch each (default one per core, up to 4)
  --batch-size N                 queries or chats per model batch (default 16)
  --batch-wait-ms N              longest wait for a batch to fill (default 10)
  --max-queued N                 waiting queries and chats before 503 (default 1024)
  --max-queued-per-client N      waiting per client (header ${CLIENT_HEADER} or address) before 429 (default 256)
  --queue-timeout-ms N           wait for a request's work to start before 503 (default 60000)
  --max-body-bytes N             larger request bodies get 413 (default 1048576)
  --inference-token TOKEN        bearer token required on /v1/*; read it from a Secret (default none)
  --constrained true|false       native answers kept to lists of strings from the sentence (default true)
  --max-new-tokens N             bound on each native answer (default ${DEFAULT_ENGINE_OPTIONS.maxNewTokens})
  --max-completion-tokens N      bound on max_tokens of a chat completion (default 256)
  --shutdown-timeout-ms N        drain time on SIGTERM (default 30000)`;

const FLAGS = [
  'model', 'host', 'port', 'execution-provider', 'dtype', 'inference-workers', 'batch-size', 'batch-wait-ms',
  'max-queued', 'max-queued-per-client', 'queue-timeout-ms', 'max-body-bytes', 'inference-token', 'constrained',
  'max-new-tokens', 'max-completion-tokens', 'shutdown-timeout-ms',
] as const;

export function serveConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig & { shutdownTimeoutMs: number } {
  const { get, int } = envBackedOptions(argv, FLAGS, USAGE, env);
  const port = Number(get('port') ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`bad --port "${get('port')}"`);
  const dtype = get('dtype');
  return {
    model: get('model') ?? DEFAULT_MODEL_DIR,
    host: get('host') ?? '0.0.0.0',
    port,
    executionProvider: oneOf(get('execution-provider') ?? 'cpu', EXECUTION_PROVIDERS, '--execution-provider'),
    ...(dtype ? { dtype: oneOf(dtype, MODEL_DTYPES, '--dtype') } : {}),
    ...(get('inference-workers') ? { inferenceWorkers: int('inference-workers', 1) } : {}),
    batchSize: int('batch-size', 16),
    batchWaitMs: int('batch-wait-ms', 10),
    maxQueued: int('max-queued', 1024),
    maxQueuedPerClient: int('max-queued-per-client', 256),
    queueTimeoutMs: int('queue-timeout-ms', 60_000),
    maxBodyBytes: int('max-body-bytes', 1 << 20),
    ...(get('inference-token') ? { token: get('inference-token') } : {}),
    answers: {
      inferenceMode: DEFAULT_ENGINE_OPTIONS.inferenceMode,
      constrained: oneOf(get('constrained') ?? 'true', ['true', 'false'] as const, '--constrained') === 'true',
      maxNewTokens: int('max-new-tokens', DEFAULT_ENGINE_OPTIONS.maxNewTokens),
    },
    maxCompletionTokens: int('max-completion-tokens', 256),
    shutdownTimeoutMs: int('shutdown-timeout-ms', 30_000),
  };
}

export async function serveCommand(argv: string[]): Promise<void> {
  const config = serveConfig(argv);
  if (config.model === DEFAULT_MODEL_DIR) await ensureDefaultModel();
  const server = await InferenceServer.start(config);
  onShutdown(config.shutdownTimeoutMs, () => server.drain(config.shutdownTimeoutMs));
  await untilShutdown();
}
