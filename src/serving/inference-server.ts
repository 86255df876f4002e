// `bioner-stream serve`: the inference pool behind HTTP, shared by many workers, and for people
// the entities endpoint and the viewer page over the same model. It listens at once (probes must
// answer while the model loads), turns ready after a warm-up batch, refuses work it cannot queue
// with 429/503 and Retry-After instead of falling over, and drains on SIGTERM: not ready, no new
// work, queued work finished, then exit.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AnnotatedDocument, Answer } from '../domain/types.js';
import { QueueFullError, QueueTimeoutError } from '../inference/dynamic-batcher.js';
import { InferenceUnavailableError } from '../inference/model-backend.js';
import type { Completion } from '../inference/onnx/chat-completion.js';
import type { AnswerSettings } from '../inference/onnx/conversation-engine.js';
import { InferencePool } from '../inference/onnx/inference-pool.js';
import type { OnnxEngineOptions } from '../inference/onnx/onnx-backend.js';
import { ANSWERS_PATH, CLIENT_HEADER } from '../inference/remote/answer-protocol.js';
import { createLog } from '../observability/log.js';
import { answerProbe, type HealthSource } from '../observability/probes.js';
import { annotateInOrder } from '../pipeline/annotate-in-order.js';
import { assemblePipeline, type Pipeline, type PipelineSettings } from '../pipeline/assemble-pipeline.js';
import { TooManySentencesError } from '../pipeline/annotator.js';
import { loadPromptTemplate } from '../stages/build-prompt.js';
import { answerJobs, answerResponse } from './answers-endpoint.js';
import { chatCall, chatCompletionResponse } from './chat-completions-endpoint.js';
import { entitiesRequest, entitiesResponse } from './entities-endpoint.js';
import { HttpError, readJsonBody, sendError, sendJson } from './http-exchange.js';
import { jobBatcher, servedModel, type Job, type JobResult, type JobBatcher } from './model-jobs.js';
import { ServerMetrics, type Endpoint } from './server-metrics.js';
import { VIEWER_PATHS, ViewerFiles } from './viewer-files.js';

export interface ServeConfig {
  /** An ONNX model directory. */
  model: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The engine: threads, weights, and how native queries are answered. */
  engine: Omit<OnnxEngineOptions, 'modelDir'>;
  batchSize: number;
  batchWaitMs: number;
  /** Queries and chats waiting, all clients together; past it, 503. */
  maxQueued: number;
  /** What one client may have waiting; past it, 429. */
  maxQueuedPerClient: number;
  /** How long a request's work may wait to start; past it, 503 and that work is withdrawn. */
  queueTimeoutMs: number;
  maxBodyBytes: number;
  /** Bearer token every inference request must carry; probes and /metrics stay open. */
  token?: string;
  /** Bound on max_tokens of a chat completion. */
  maxCompletionTokens: number;
  /** How /v1/entities annotates (types asked by default, lexicons, template, ...); the model and engine are the server's. */
  pipeline: Omit<PipelineSettings, 'model' | 'engine' | 'queryBatches'>;
  /** Texts (or documents) one /v1/entities request may carry; past it, 413. */
  maxTextsPerRequest: number;
}

const log = createLog('serve');

/** Time to receive a request body: a slow client cannot hold a socket for ever. */
const BODY_TIMEOUT_MS = 30_000;

export const ENTITIES_PATH = '/v1/entities';
const ENTITY_TYPES_PATH = '/v1/entity-types';

/** Every served model answers to this name too, so a client need not know which one it is. */
export const MODEL_ALIAS = 'bioner';

const ENDPOINTS: Record<string, Endpoint> = {
  [ANSWERS_PATH]: 'answers',
  '/v1/chat/completions': 'chat_completions',
  '/v1/models': 'models',
  [ENTITIES_PATH]: 'entities',
  [ENTITY_TYPES_PATH]: 'entity_types',
  ...Object.fromEntries(VIEWER_PATHS.map((path) => [path, 'viewer'])),
};

export class InferenceServer {
  private ready = false;
  private draining = false;
  private pool: InferencePool | undefined;
  private answers!: Omit<AnswerSettings, 'template'>;
  private jobs: JobBatcher | undefined;
  /** The pipeline of /v1/entities, over this server's model. */
  private pipeline: Pipeline | undefined;
  /** Recent seconds per batch, for Retry-After. */
  private batchSeconds = 1;
  private readonly health: HealthSource = {
    // Alive while loading or draining; dead only if no inference worker is left to serve.
    healthy: () => !this.pool || this.pool.size > 0,
    ready: () => this.ready,
  };

  private constructor(
    private readonly config: ServeConfig,
    private readonly http: Server,
    readonly metrics: ServerMetrics,
    private readonly viewer: ViewerFiles,
  ) {}

  /** Listens, loads the model and warms it up; resolves once ready. */
  static async start(config: ServeConfig): Promise<InferenceServer> {
    // Keep-alive outlasts client and load-balancer idle timeouts (60 s is common), so the server
    // never closes a socket that a client is about to reuse.
    const http = createServer({ requestTimeout: BODY_TIMEOUT_MS, keepAliveTimeout: 65_000 });
    const server = new InferenceServer(config, http, new ServerMetrics(), ViewerFiles.load());
    http.on('request', (request, response) => void server.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.port, config.host, resolve);
    });
    log('listening', { port: server.port });
    try {
      await server.load();
    } catch (error) {
      http.close();
      // Its threads would keep the process alive after the error.
      await server.pool?.close();
      throw error;
    }
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** `NAME@VERSION` (inference/onnx/model-identity.ts); known once the model has loaded. */
  get modelId(): string {
    return this.pool?.modelId ?? '';
  }

  /** What a client may call the model: its id, its folder's name, and the alias. */
  get modelNames(): string[] {
    return [this.modelId, this.modelId.slice(0, this.modelId.lastIndexOf('@')), MODEL_ALIAS];
  }

  /** Not ready, new work refused; waits for queued and running batches until the deadline, then closes. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.ready = false;
    log('draining', { queued: this.jobs?.queued ?? 0, timeoutMs });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    // The entities pipeline's queries first: they finish in the job queue, which drains after them.
    const queued = (async () => {
      await this.pipeline?.batcher.drain();
      await this.jobs?.drain();
    })();
    await Promise.race([queued, timedOut]);
    clearTimeout(timer);
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    await this.pipeline?.close();
    await this.pool?.close();
    log('stopped');
  }

  private async load(): Promise<void> {
    const { config } = this;
    const started = performance.now();
    const { features, constrained, maxNewTokens, ...poolOptions } = config.engine;
    this.answers = { features, constrained, maxNewTokens };
    this.pool = await InferencePool.start({ ...poolOptions, modelDir: config.model });
    if (constrained && !this.pool.constrainable) {
      throw new Error(`${config.model}: constrained decoding needs a byte-level BPE tokenizer; start with --constrained off`);
    }
    this.jobs = jobBatcher(this.pool, this.metrics, {
      batchSize: config.batchSize,
      maxWaitMs: config.batchWaitMs,
      maxQueued: config.maxQueued,
      maxQueuedPerClient: config.maxQueuedPerClient,
      settings: this.answers,
      onBatch: (_, seconds) => (this.batchSeconds = 0.8 * this.batchSeconds + 0.2 * seconds),
    });
    // The one assembly `annotate` uses, over this server's model: its queries take the job queue too.
    const settings: PipelineSettings = {
      ...config.pipeline, model: config.model, engine: config.engine,
      queryBatches: { size: config.batchSize, waitMs: config.batchWaitMs },
    };
    const model = servedModel(this.jobs, this.modelId, loadPromptTemplate(settings.template), config.queueTimeoutMs);
    this.pipeline = await assemblePipeline(settings, {}, model);
    await this.warmUp();
    this.ready = true;
    log('ready', { model: this.modelId, threads: this.pool.size, loadSeconds: Math.round(performance.now() - started) / 1000 });
  }

  /** One batch per worker thread, so no request pays for the first run's allocations. */
  private async warmUp(): Promise<void> {
    const text = 'Mutations in BRCA1 cause breast cancer.';
    const query = { sentence: { docId: '', index: 0, start: 0, end: text.length, text }, types: ['disease'] };
    const settings = { ...this.answers, template: this.pipeline!.template, maxNewTokens: 4 };
    await Promise.all(Array.from({ length: this.pool!.size }, () => this.pool!.answer([query], settings)));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0]!;
    try {
      if (await answerProbe(path, response, this.metrics.registry, this.health)) return;
      this.count(ENDPOINTS[path] ?? 'unknown', response);
      if (request.method === 'GET' && this.viewer.send(path, response)) return;
      this.authorise(request);
      if (path === '/v1/models') return this.models(request, response);
      if (path === ENTITY_TYPES_PATH) return this.entityTypes(request, response);
      if (path === ANSWERS_PATH || path === '/v1/chat/completions' || path === ENTITIES_PATH) return await this.infer(path, request, response);
      throw new HttpError(404, 'not_found', `no endpoint ${request.method} ${path}`);
    } catch (error) {
      sendError(response, this.httpError(error));
    }
  }

  private authorise(request: IncomingMessage): void {
    if (this.config.token === undefined || sameSecret(request.headers.authorization ?? '', `Bearer ${this.config.token}`)) return;
    throw new HttpError(401, 'authentication_error', 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
  }

  /** The model under each of its names, its id first: clients that take the first record it in provenance. */
  private models(request: IncomingMessage, response: ServerResponse): void {
    requireMethod(request, 'GET');
    sendJson(response, 200, {
      object: 'list',
      data: this.modelNames.map((id) => ({ id, object: 'model', created: 0, owned_by: 'bioner-stream', root: this.modelId })),
    });
  }

  /** What the viewer offers: every known type, and those asked when a request names none. */
  private entityTypes(request: IncomingMessage, response: ServerResponse): void {
    requireMethod(request, 'GET');
    if (!this.pipeline) throw this.unavailable('loading', 'the model is not ready');
    sendJson(response, 200, { model: this.modelId, types: this.pipeline.entityTypes.names, default: this.pipeline.types });
  }

  private async infer(path: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    requireMethod(request, 'POST');
    if (!this.ready) throw this.unavailable(this.draining ? 'draining' : 'loading', 'the model is not ready');
    const body = await readJsonBody(request, this.config.maxBodyBytes);
    const pipeline = this.pipeline!;
    if (path === ANSWERS_PATH) {
      const answers = await this.run(answerJobs(body, pipeline), request, response);
      return sendJson(response, 200, answerResponse(this.modelId, answers as Answer[][]));
    }
    if (path === ENTITIES_PATH) {
      const { documents, types } = entitiesRequest(body, pipeline.entityTypes, pipeline.types, this.config.maxTextsPerRequest);
      // The pipeline's own queue is bounded like the job queue.
      if (pipeline.batcher.queued >= this.config.maxQueued) throw this.unavailable('queue_full', 'queue full: too many texts waiting');
      const annotated: AnnotatedDocument[] = [];
      for await (const document of annotateInOrder(pipeline.annotator, documents)) annotated.push(document);
      return sendJson(response, 200, entitiesResponse(this.modelId, types, annotated));
    }
    const { job, stop } = chatCall(body, this.modelNames, this.config.maxCompletionTokens);
    const [completion] = await this.run([job], request, response);
    sendJson(response, 200, chatCompletionResponse(this.modelId, completion as Completion, stop));
  }

  private count(endpoint: Endpoint, response: ServerResponse): void {
    const started = performance.now();
    response.once('finish', () => {
      this.metrics.requests.inc({ endpoint, code: String(response.statusCode) });
      this.metrics.requestSeconds.observe({ endpoint }, (performance.now() - started) / 1000);
    });
  }

  /**
   * Queues the jobs for the client. A client that hangs up, or whose jobs have not all started
   * within the queue timeout, has its waiting jobs withdrawn.
   */
  private run(jobs: Job[], request: IncomingMessage, response: ServerResponse): Promise<JobResult[]> {
    const hangUp = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) hangUp.abort(new Error('client closed the connection'));
    });
    const client = String(request.headers[CLIENT_HEADER] ?? request.socket.remoteAddress ?? '');
    return this.jobs!.submit(jobs, { client, signal: hangUp.signal, queueTimeoutMs: this.config.queueTimeoutMs });
  }

  private httpError(error: unknown): HttpError {
    if (error instanceof HttpError) return error;
    // The entities pipeline's view of a full queue or a timeout: answered as the queue's own error.
    if (error instanceof InferenceUnavailableError && error.cause) return this.httpError(error.cause);
    if (error instanceof TooManySentencesError) return new HttpError(413, 'invalid_request_error', error.message);
    if (error instanceof QueueFullError) {
      if (error.scope === 'client') {
        this.metrics.rejected.inc({ reason: 'client_over_share' });
        return new HttpError(429, 'rate_limit_exceeded', error.message, { 'retry-after': String(this.retryAfterSeconds()) });
      }
      return this.unavailable(error.scope === 'server' ? 'queue_full' : 'draining', error.message);
    }
    if (error instanceof QueueTimeoutError) return this.unavailable('timeout', `queued work ${error.message}`);
    log('request failed', { error: (error as Error)?.message ?? String(error) });
    return new HttpError(500, 'server_error', `inference failed: ${(error as Error)?.message ?? error}`);
  }

  /** 503 with Retry-After; while draining also `connection: close`, so keep-alive clients reconnect elsewhere. */
  private unavailable(reason: 'queue_full' | 'draining' | 'timeout' | 'loading', message: string): HttpError {
    if (reason !== 'loading') this.metrics.rejected.inc({ reason });
    const headers: Record<string, string> = { 'retry-after': String(this.retryAfterSeconds()) };
    if (reason === 'draining') headers.connection = 'close';
    return new HttpError(503, reason === 'timeout' ? 'timeout' : 'overloaded', message, headers);
  }

  /** About the time to work off the queue: waiting batches × recent seconds per batch, 1 to 30 s. */
  private retryAfterSeconds(): number {
    const jobs = this.jobs;
    if (!jobs || !this.pool) return 5;
    const batchesAhead = Math.ceil(jobs.queued / this.config.batchSize / this.pool.size) + 1;
    return Math.min(30, Math.max(1, Math.ceil(batchesAhead * this.batchSeconds)));
  }
}

function requireMethod(request: IncomingMessage, method: string): void {
  if (request.method !== method) {
    throw new HttpError(405, 'invalid_request_error', `use ${method} here`, { allow: method });
  }
}

/** Compares in time that does not depend on where the strings differ (no timing oracle for the token). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
