// What the remote backends share: a `remote:URL[,URL…]` or `openai:URL[,URL…]` spec read into
// server URLs, a pool over them, and the model to ask for, waiting at start-up for a server.
import { hostname } from 'node:os';
import { backOff, type Backoff } from '../../backoff.js';
import { createLog } from '../../observability/log.js';
import { InferenceUnavailableError } from '../model-backend.js';
import { CLIENT_HEADER } from './answer-protocol.js';
import { DEFAULT_POOL_OPTIONS, EndpointPool, type EndpointPoolOptions } from './endpoint-pool.js';

export type ServerScheme = 'remote' | 'openai';

export interface RemoteOptions extends EndpointPoolOptions {
  /** How long start-up waits for a server to answer before it gives up. */
  connectTimeoutMs: number;
}

export const DEFAULT_REMOTE_OPTIONS: RemoteOptions = { ...DEFAULT_POOL_OPTIONS, connectTimeoutMs: 120_000 };

export interface ServerSpec {
  /** Base URLs without a trailing `/` or `/v1`: every request path starts with `/v1/`. */
  urls: string[];
  /** The `?model=NAME` of the URLs (openai: only). */
  model?: string;
}

/** OpenAI's model list, which `bioner-stream serve`, vLLM and llama.cpp's server all answer. */
const MODELS_PATH = '/v1/models';

/** Pauses between start-up tries when a try fails at once (every circuit open): 250 ms, then up to 1 s. */
const CONNECT_BACKOFF: Backoff = { baseMs: 250, capMs: 1000 };

const log = createLog('remote-inference');

/** Stable for the life of the process, so `bioner-stream serve` can bound each worker's share. */
const CLIENT_NAME = `${hostname()}:${process.pid}`;

export function parseServerSpec(spec: string, scheme: ServerScheme): ServerSpec {
  const prefix = `${scheme}:`;
  if (!spec.startsWith(prefix)) throw new Error(`not a ${prefix} model spec: ${spec}`);
  const example = `${prefix}http://bioner-inference:8080`;
  const parts = spec.slice(prefix.length).split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error(`${prefix} needs at least one server URL, e.g. ${example}`);
  const models = new Set<string>();
  const urls = parts.map((part) => {
    const url = URL.canParse(part) ? new URL(part) : undefined;
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
      throw new Error(`${prefix} "${part}" is not an http(s) URL, e.g. ${example}`);
    }
    for (const [name, value] of url.searchParams) {
      if (name !== 'model' || scheme !== 'openai') throw new Error(`${prefix} "${part}": unknown parameter "${name}"`);
      models.add(value);
    }
    return url.origin + url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  });
  if (models.size > 1) throw new Error(`${prefix} the URLs name different models: ${[...models].join(', ')}`);
  const [model] = models;
  return model === undefined ? { urls } : { urls, model };
}

/**
 * A pool over the spec's servers and the model to ask them for: the spec's `?model=`, else
 * the first model the servers list, retried while none answers, for up to `connectTimeoutMs`.
 */
export async function connectServers(
  spec: string,
  scheme: ServerScheme,
  options: Partial<RemoteOptions>,
): Promise<{ pool: EndpointPool; model: string }> {
  const { connectTimeoutMs, ...poolOptions } = { ...DEFAULT_REMOTE_OPTIONS, ...options };
  const { urls, model } = parseServerSpec(spec, scheme);
  const pool = new EndpointPool(urls, { ...poolOptions, headers: { [CLIENT_HEADER]: CLIENT_NAME, ...poolOptions.headers } });
  return { pool, model: model ?? (await servedModel(pool, connectTimeoutMs)) };
}

async function servedModel(pool: EndpointPool, connectTimeoutMs: number): Promise<string> {
  // A monotonic clock: a wall-clock step cannot shorten or stretch the wait.
  const deadline = performance.now() + connectTimeoutMs;
  for (let retry = 0; ; retry++) {
    try {
      return firstModelId(await pool.get(MODELS_PATH));
    } catch (error) {
      if (!(error instanceof InferenceUnavailableError)) throw error;
      const left = deadline - performance.now();
      if (left <= 0) throw new InferenceUnavailableError(`gave up after ${connectTimeoutMs} ms: ${error.message}`);
      log('no inference server answers yet; retrying', { urls: pool.urls, error: error.message });
      await backOff(retry, { ...CONNECT_BACKOFF, capMs: Math.min(CONNECT_BACKOFF.capMs, left) });
    }
  }
}

function firstModelId(reply: unknown): string {
  const id = (reply as { data?: { id?: unknown }[] } | null)?.data?.[0]?.id;
  if (typeof id !== 'string' || id === '') throw malformedReply(`GET ${MODELS_PATH}`, 'no data[0].id', reply);
  return id;
}

/** A server answered, but not in the shape asked for: a plain Error, since retrying would not help. */
export function malformedReply(request: string, problem: string, reply: unknown): Error {
  return new Error(`malformed reply to ${request}: ${problem}; got ${JSON.stringify(reply)?.slice(0, 200)}`);
}
