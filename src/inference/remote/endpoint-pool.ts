// JSON over HTTP to a set of equivalent servers: a bounded number in flight, each attempt timed
// out, transient failures retried on the next server whose circuit is closed, after a jittered
// backoff; permanent failures reported at once, since no server would answer differently.
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { backoffMs } from '../../backoff.js';
import { deadline } from '../../deadline.js';
import { InferenceUnavailableError } from '../model-backend.js';
import type { ErrorBody } from './answer-protocol.js';
import { CircuitBreaker, DEFAULT_BREAKER_OPTIONS, type CircuitBreakerOptions } from './circuit-breaker.js';

export interface EndpointPoolOptions extends CircuitBreakerOptions {
  /** Bound on one attempt, from sending the request to reading the whole reply. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** Retries back off with full jitter (src/backoff.ts); a server's Retry-After raises the wait, up to the cap. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Attempts in flight at once over all endpoints; the rest wait in order. */
  maxInFlight: number;
  /** Sent as `Authorization: Bearer …`. */
  token?: string;
  /** Sent with every request. */
  headers?: Record<string, string>;
  random: () => number;
}

export const DEFAULT_POOL_OPTIONS: EndpointPoolOptions = {
  ...DEFAULT_BREAKER_OPTIONS,
  timeoutMs: 120_000,
  retries: 3,
  backoffBaseMs: 200,
  backoffCapMs: 5000,
  maxInFlight: 16,
  random: Math.random,
};

/** Statuses another attempt may get past; any other error status is the request's own fault. */
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** Busy, not broken: retried, but not held against the server's circuit. */
const TOO_MANY_REQUESTS = 429;
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/** One of the equivalent servers, with its circuit breaker. */
interface Upstream {
  url: string;
  breaker: CircuitBreaker;
}

interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

type Attempt =
  | { kind: 'answered'; reply: unknown }
  | { kind: 'transient'; endpoint: Upstream; cause: string; retryAfterMs?: number }
  | { kind: 'every-circuit-open' };

export class EndpointPool {
  private readonly options: EndpointPoolOptions;
  private readonly endpoints: Upstream[];
  private readonly queue: PQueue;
  private readonly closing = new AbortController();
  /** Authorization and the configured headers, sent with every request. */
  private readonly headers: Record<string, string>;
  private nextStart = 0;

  constructor(readonly urls: readonly string[], options: Partial<EndpointPoolOptions> = {}) {
    if (urls.length === 0) throw new Error('an endpoint pool needs at least one URL');
    this.options = { ...DEFAULT_POOL_OPTIONS, ...options };
    this.endpoints = urls.map((url) => ({ url, breaker: new CircuitBreaker(this.options) }));
    this.queue = new PQueue({ concurrency: this.options.maxInFlight });
    this.headers = { ...this.options.headers, ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) };
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request({ method: 'GET', path, headers: {} });
  }

  post<T = unknown>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.request({
      method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
    });
  }

  /** Fails every request, queued, backing off or running; the pool takes no more. */
  close(): void {
    this.closing.abort(new Error('the endpoint pool is closed'));
    this.queue.clear();
  }

  private async request<T>(request: HttpRequest): Promise<T> {
    const { signal } = this.closing;
    let failed: Upstream | undefined;
    let lastCause: string | undefined;
    for (let retry = 0; ; retry++) {
      signal.throwIfAborted();
      const attempt = await this.queue.add(() => this.attempt(request, failed), { signal });
      if (attempt.kind === 'answered') return attempt.reply as T;
      if (attempt.kind === 'every-circuit-open') {
        throw this.unavailable(`every endpoint's circuit is open${lastCause ? `; last failure: ${lastCause}` : ''}`);
      }
      lastCause = attempt.cause;
      if (retry === this.options.retries) throw this.unavailable(`${retry + 1} attempts failed; last: ${lastCause}`);
      failed = attempt.endpoint;
      await sleep(this.waitMs(retry, attempt.retryAfterMs), undefined, { signal });
    }
  }

  /** One try at one endpoint; throws what no retry would fix. */
  private async attempt(request: HttpRequest, failed: Upstream | undefined): Promise<Attempt> {
    const endpoint = this.pick(failed);
    if (!endpoint) return { kind: 'every-circuit-open' };
    const url = endpoint.url + request.path;
    let response: Response;
    let body: string;
    const timeout = deadline(this.options.timeoutMs, this.closing.signal);
    try {
      response = await fetch(url, {
        method: request.method,
        headers: { accept: 'application/json', ...this.headers, ...request.headers },
        body: request.body,
        signal: timeout.signal,
      });
      body = await response.text();
    } catch (error) {
      this.closing.signal.throwIfAborted();
      endpoint.breaker.failed();
      return { kind: 'transient', endpoint, cause: `${url}: ${this.describe(error)}` };
    } finally {
      timeout.clear();
    }
    const { status } = response;
    if (TRANSIENT_STATUSES.has(status) && status !== TOO_MANY_REQUESTS) endpoint.breaker.failed();
    else endpoint.breaker.succeeded();
    if (response.ok) return { kind: 'answered', reply: parseJson(body, `${request.method} ${url}`) };
    const cause = `${url}: HTTP ${status}: ${serverMessage(body)}`;
    if (!TRANSIENT_STATUSES.has(status)) throw new Error(`${request.method} ${cause}`);
    return { kind: 'transient', endpoint, cause, retryAfterMs: retryAfterMs(response) };
  }

  /**
   * Round robin over the endpoints whose circuit lets a request through: a new request starts
   * after where the last one started, a retry after the endpoint that just failed it.
   */
  private pick(failed: Upstream | undefined): Upstream | undefined {
    const count = this.endpoints.length;
    const start = failed ? this.endpoints.indexOf(failed) + 1 : this.nextStart++ % count;
    for (let i = 0; i < count; i++) {
      const endpoint = this.endpoints[(start + i) % count]!;
      if (endpoint.breaker.allowRequest()) return endpoint;
    }
    return undefined;
  }

  private waitMs(retry: number, retryAfterMs = 0): number {
    const { backoffBaseMs: baseMs, backoffCapMs: capMs, random } = this.options;
    return Math.max(backoffMs(retry, { baseMs, capMs, random }), Math.min(retryAfterMs, capMs));
  }

  private describe(error: unknown): string {
    if ((error as Error).name === 'TimeoutError') return `no reply within ${this.options.timeoutMs} ms`;
    const { cause } = error as { cause?: unknown };
    return cause instanceof Error ? cause.message : String((error as Error).message ?? error);
  }

  private unavailable(cause: string): InferenceUnavailableError {
    return new InferenceUnavailableError(`no inference server available at ${this.urls.join(', ')}: ${cause}`);
  }
}

function parseJson(body: string, source: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new Error(`${source}: the reply is not JSON: ${body.slice(0, 200)}`);
  }
}

/** The server's own words: the message of its ErrorBody, else the start of whatever it sent. */
function serverMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as Partial<ErrorBody> | null)?.error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // Not JSON: a proxy's error page, say.
  }
  return body.slice(0, 200) || '(no body)';
}

/** Retry-After in seconds; the HTTP-date form is rare enough from inference servers to ignore. */
function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  if (!RETRY_AFTER_STATUSES.has(response.status) || !header) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
