import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { documentType, toAvroDocument } from '../src/domain/avro.js';
import { FixedSchemaRegistry } from '../src/domain/schema-registry.js';
import type { AnnotatedDocument, ChatMessage, Document, Query } from '../src/domain/types.js';
import { encodeFramed } from '../src/domain/wire-format.js';
import { InferenceUnavailableError } from '../src/inference/model-backend.js';
import { CircuitBreaker } from '../src/inference/remote/circuit-breaker.js';
import { EndpointPool, type EndpointPoolOptions } from '../src/inference/remote/endpoint-pool.js';
import { OpenAiBackend } from '../src/inference/remote/openai-backend.js';
import { RemoteBackend } from '../src/inference/remote/remote-backend.js';
import { parseServerSpec } from '../src/inference/remote/server-connection.js';
import { DEFAULT_TOPICS } from '../src/kafka/topics.js';
import { WorkerMetrics } from '../src/observability/metrics.js';
import type { Annotator } from '../src/pipeline/annotator.js';
import { RecordAnnotator } from '../src/pipeline/record-annotator.js';
import { conversationFor, loadPromptTemplate } from '../src/stages/build-prompt.js';
import { EntityTypes } from '../src/stages/entity-types.js';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

interface FakeServer {
  url: string;
  received: Received[];
  /** The most requests it held at once. */
  mostInFlight: number;
}

/** A throwaway server on a free port, closed when the test ends. */
async function fakeServer(t: TestContext, handle: (request: Received, response: ServerResponse) => void): Promise<FakeServer> {
  const received: Received[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const server = createServer(async (req, res) => {
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    res.on('close', () => inFlight--);
    let text = '';
    for await (const chunk of req) text += chunk;
    const request = { method: req.method!, path: req.url!, headers: req.headers, body: text ? JSON.parse(text) : undefined };
    received.push(request);
    handle(request, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    get mostInFlight() {
      return mostInFlight;
    },
  };
}

/** A URL where nothing listens: connections are refused. */
async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function reply(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

const errorBody = (message: string) => ({ error: { message, type: 'invalid_request_error' } });

/** No backoff waits, so retries run at once. */
const NO_WAIT: Partial<EndpointPoolOptions> = { random: () => 0 };

const isUnavailable = (pattern: RegExp) => (error: unknown) =>
  error instanceof InferenceUnavailableError && pattern.test(error.message);

const isPermanent = (pattern: RegExp) => (error: unknown) =>
  error instanceof Error && !(error instanceof InferenceUnavailableError) && pattern.test(error.message);

test('CircuitBreaker opens after the threshold, lets one trial through after the cooldown, and the trial decides', () => {
  let now = 0;
  const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: () => now });
  breaker.failed();
  breaker.failed();
  breaker.succeeded(); // failures must be consecutive
  breaker.failed();
  breaker.failed();
  assert.equal(breaker.allowRequest(), true);
  breaker.failed();
  assert.equal(breaker.allowRequest(), false, 'open after 3 consecutive failures');
  now = 999;
  assert.equal(breaker.allowRequest(), false, 'still cooling down');
  now = 1000;
  assert.equal(breaker.allowRequest(), true, 'the trial');
  assert.equal(breaker.allowRequest(), false, 'only one trial at a time');
  breaker.failed();
  now = 1999;
  assert.equal(breaker.allowRequest(), false, 'a failed trial opens the circuit for another cooldown');
  now = 2000;
  assert.equal(breaker.allowRequest(), true);
  breaker.succeeded();
  assert.equal(breaker.allowRequest(), true, 'a successful trial closes it');
  assert.equal(breaker.allowRequest(), true);
});

test('EndpointPool retries a 503 and returns the retry\'s reply', async (t) => {
  const server = await fakeServer(t, (request, response) =>
    server.received.length === 1 ? reply(response, 503, errorBody('warming up')) : reply(response, 200, { echo: request.body }));
  const pool = new EndpointPool([server.url], { ...NO_WAIT, token: 's3cret' });
  assert.deepEqual(await pool.post('/v1/echo', { n: 1 }), { echo: { n: 1 } });
  assert.equal(server.received.length, 2);
  assert.equal(server.received[1]!.headers.authorization, 'Bearer s3cret');
});

test('EndpointPool waits at least Retry-After before retrying, up to the backoff cap', async (t) => {
  const server = await fakeServer(t, (_, response) =>
    server.received.length === 1 ? reply(response, 429, errorBody('busy'), { 'retry-after': '1' }) : reply(response, 200, {}));
  // With a cap of 300 ms, Retry-After: 1 means a 300 ms wait; jitter alone would wait none.
  const pool = new EndpointPool([server.url], { ...NO_WAIT, backoffCapMs: 300, failureThreshold: 1 });
  const started = performance.now();
  await pool.get('/v1/models');
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 290 && elapsed < 1000, `waited ${elapsed} ms`);
  // failureThreshold 1: had the 429 counted against the circuit, the retry would have found it open.
  assert.equal(server.received.length, 2);
});

test('EndpointPool does not retry a 400 and reports the server\'s message', async (t) => {
  const server = await fakeServer(t, (_, response) => reply(response, 400, errorBody('queries must not be empty')));
  const pool = new EndpointPool([server.url], NO_WAIT);
  await assert.rejects(pool.post('/v1/answers', { queries: [] }), isPermanent(/HTTP 400: queries must not be empty/));
  assert.equal(server.received.length, 1);
});

test('EndpointPool abandons an attempt that gets no reply in time and retries', async (t) => {
  const server = await fakeServer(t, (_, response) => {
    if (server.received.length > 1) reply(response, 200, { ok: true });
  });
  const pool = new EndpointPool([server.url], { ...NO_WAIT, timeoutMs: 100 });
  const started = performance.now();
  assert.deepEqual(await pool.get('/v1/models'), { ok: true });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 100 && elapsed < 1000, `took ${elapsed} ms`);
  assert.equal(server.received.length, 2);
});

test('EndpointPool fails over to the next endpoint when one refuses connections', async (t) => {
  const server = await fakeServer(t, (_, response) => reply(response, 200, { ok: true }));
  const pool = new EndpointPool([await refusingUrl(), server.url], { ...NO_WAIT, retries: 1 });
  for (let i = 0; i < 4; i++) assert.deepEqual(await pool.get('/v1/models'), { ok: true });
  assert.equal(server.received.length, 4);
});

test('EndpointPool skips an endpoint whose circuit is open, and tries it again after the cooldown', async (t) => {
  let broken = true;
  const flaky = await fakeServer(t, (_, response) => (broken ? reply(response, 500, errorBody('boom')) : reply(response, 200, {})));
  const healthy = await fakeServer(t, (_, response) => reply(response, 200, {}));
  let now = 0;
  const pool = new EndpointPool([flaky.url, healthy.url], { ...NO_WAIT, failureThreshold: 2, cooldownMs: 1000, now: () => now });
  const requests = async (n: number) => {
    for (let i = 0; i < n; i++) await pool.get('/v1/models');
  };

  await requests(8); // round robin: half start at the flaky endpoint, until its circuit opens
  assert.equal(flaky.received.length, 2);
  assert.equal(healthy.received.length, 8);

  now = 1000;
  await requests(2); // one trial, which fails: open again
  assert.equal(flaky.received.length, 3);
  await requests(2);
  assert.equal(flaky.received.length, 3);

  now = 2000;
  broken = false;
  await requests(4); // the trial succeeds, the circuit closes, round robin again
  assert.equal(flaky.received.length, 5);
});

test('EndpointPool throws InferenceUnavailableError, naming the endpoints, once the attempts are spent', async (t) => {
  const server = await fakeServer(t, (_, response) => reply(response, 503, errorBody('overloaded')));
  const pool = new EndpointPool([server.url], { ...NO_WAIT, retries: 2 });
  await assert.rejects(pool.get('/v1/models'), isUnavailable(new RegExp(`${server.url}.*3 attempts.*HTTP 503: overloaded`)));
  assert.equal(server.received.length, 3);
});

test('EndpointPool throws InferenceUnavailableError at once when every circuit is open', async (t) => {
  const server = await fakeServer(t, (_, response) => reply(response, 502, errorBody('bad gateway')));
  const pool = new EndpointPool([server.url], { ...NO_WAIT, failureThreshold: 1 });
  await assert.rejects(pool.get('/v1/models'), isUnavailable(/every endpoint's circuit is open; last failure: .*HTTP 502/));
  await assert.rejects(pool.get('/v1/models'), isUnavailable(/every endpoint's circuit is open/));
  assert.equal(server.received.length, 1);
});

test('EndpointPool keeps at most maxInFlight requests in flight', async (t) => {
  const server = await fakeServer(t, (_, response) => setTimeout(() => reply(response, 200, {}), 20));
  const pool = new EndpointPool([server.url], { ...NO_WAIT, maxInFlight: 3 });
  await Promise.all(Array.from({ length: 10 }, () => pool.get('/v1/models')));
  assert.equal(server.received.length, 10);
  assert.equal(server.mostInFlight, 3);
});

const template = loadPromptTemplate('conv_term');
const models = { object: 'list', data: [{ id: 'served-model', object: 'model', owned_by: 'bioner-stream' }] };

function queryOf(text: string, types: string[]): Query {
  return { sentence: { docId: 'd1', index: 0, start: 0, end: text.length, text }, types };
}

test('RemoteBackend takes the served model, and posts the template and the sentences', async (t) => {
  const server = await fakeServer(t, (request, response) => {
    if (request.path === '/v1/models') return reply(response, 200, models);
    const answers = request.body.queries.map((q: { types: string[] }) => q.types.map((type) => ({ type, raw: 'Answer: []' })));
    reply(response, 200, { model: 'served-model', answers });
  });
  const backend = await RemoteBackend.connect(`remote:${server.url}/`, template, { token: 't' });
  t.after(() => backend.close());
  assert.equal(backend.modelId, 'served-model');
  const answers = await backend.answer([queryOf('BCL6 in Jurkat cells.', ['protein', 'cell_line'])]);
  assert.deepEqual(answers, [[{ type: 'protein', raw: 'Answer: []' }, { type: 'cell_line', raw: 'Answer: []' }]]);
  const posted = server.received[1]!;
  assert.equal(posted.path, '/v1/answers');
  assert.deepEqual(posted.body, { template, queries: [{ text: 'BCL6 in Jurkat cells.', types: ['protein', 'cell_line'] }] });
  assert.ok(posted.headers['x-bioner-client']);
  assert.equal(posted.headers.authorization, 'Bearer t');
});

test('RemoteBackend rejects a reply that does not answer each type of each query', async (t) => {
  const query = queryOf('Fever and cough.', ['disease', 'chemical']);
  const malformed = [
    {},
    { answers: [] },
    { answers: [[{ type: 'disease', raw: 'Answer: []' }]] },
    { answers: [[{ type: 'disease', raw: 'Answer: []' }, { type: 'gene', raw: 'Answer: []' }]] },
    { answers: [[{ type: 'disease', raw: 'Answer: []' }, { type: 'chemical', raw: null }]] },
    { answers: [[{ type: 'disease', raw: 'Answer: []', confidences: null }, { type: 'chemical', raw: 'Answer: []' }]] },
  ];
  let next = 0;
  const server = await fakeServer(t, (request, response) =>
    reply(response, 200, request.path === '/v1/models' ? models : malformed[next++]));
  const backend = await RemoteBackend.connect(`remote:${server.url}`, template, NO_WAIT);
  t.after(() => backend.close());
  for (const body of malformed) {
    await assert.rejects(backend.answer([query]), isPermanent(/malformed reply to POST \/v1\/answers/), JSON.stringify(body));
  }
  assert.equal(server.received.length, 1 + malformed.length, 'malformed replies are not retried');
});

test('RemoteBackend.connect retries while no server answers, then gives up after connectTimeoutMs', async (t) => {
  const starting = await fakeServer(t, (_, response) =>
    starting.received.length === 1 ? reply(response, 503, errorBody('loading the model')) : reply(response, 200, models));
  const backend = await RemoteBackend.connect(`remote:${starting.url}`, template, { ...NO_WAIT, retries: 0 });
  t.after(() => backend.close());
  assert.equal(backend.modelId, 'served-model');
  assert.equal(starting.received.length, 2);

  const started = performance.now();
  await assert.rejects(
    RemoteBackend.connect(`remote:${await refusingUrl()}`, template, { ...NO_WAIT, connectTimeoutMs: 300 }),
    isUnavailable(/gave up after 300 ms/),
  );
  assert.ok(performance.now() - started >= 300);
});

/** A chat server whose model answers each question, after a moment, with the type it was asked. */
function echoingChatServer(t: TestContext): Promise<FakeServer> {
  return fakeServer(t, (request, response) => {
    if (request.path === '/v1/models') return reply(response, 200, models);
    const messages: ChatMessage[] = request.body.messages;
    const asked = /Type: (.*)$|describes (.*) in the text/.exec(messages.at(-1)!.content)!;
    const content = `Answer: ["${asked[1] ?? asked[2]}"]`;
    const completion = { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content } }] };
    setTimeout(() => reply(response, 200, completion), 10);
  });
}

test('OpenAiBackend carries the conversation: each type is asked after the earlier answers', async (t) => {
  const server = await echoingChatServer(t);
  const backend = await OpenAiBackend.connect(`openai:${server.url}/v1?model=tiny`, template, { maxNewTokens: 12 });
  t.after(() => backend.close());
  assert.equal(backend.modelId, 'tiny');
  const texts = ['BCL6 is expressed in Jurkat cells.', 'Aspirin eases migraine.'];
  const types = ['protein', 'cell_line', 'dna'];
  const answers = await backend.answer(texts.map((text) => queryOf(text, types)));

  assert.deepEqual(answers, texts.map(() => [
    { type: 'protein', raw: 'Answer: ["protein"]' },
    { type: 'cell_line', raw: 'Answer: ["cell_line"]' },
    { type: 'dna', raw: 'Answer: ["DNA"]' },
  ]));
  assert.equal(server.received.length, texts.length * types.length, 'no /v1/models: the spec names the model');
  assert.equal(server.mostInFlight, texts.length, 'queries side by side, the types of each one after another');
  for (const { path, body } of server.received) {
    assert.equal(path, '/v1/chat/completions');
    assert.deepEqual({ ...body, messages: undefined }, { model: 'tiny', messages: undefined, temperature: 0, max_tokens: 12, stream: false });
  }
  for (const text of texts) {
    const asked = server.received.map((r) => r.body.messages as ChatMessage[]).filter((m) => m[0]!.content.includes(text));
    assert.deepEqual(asked, [
      conversationFor(template, text, types, []),
      conversationFor(template, text, types, ['Answer: ["protein"]']),
      conversationFor(template, text, types, ['Answer: ["protein"]', 'Answer: ["cell_line"]']),
    ]);
    assert.deepEqual(asked[1]!.at(-2), { role: 'assistant', content: 'Answer: ["protein"]' });
  }
});

test('OpenAiBackend asks for the first model the server lists when the spec names none', async (t) => {
  const server = await echoingChatServer(t);
  const backend = await OpenAiBackend.connect(`openai:${server.url}`, template, { maxNewTokens: 8 });
  t.after(() => backend.close());
  assert.equal(backend.modelId, 'served-model');
  await backend.answer([queryOf('Fever.', ['disease'])]);
  assert.deepEqual(server.received.map((r) => [r.path, r.body?.model]), [
    ['/v1/models', undefined],
    ['/v1/chat/completions', 'served-model'],
  ]);
});

test('OpenAiBackend asks each type on its own for a template that is not multi-turn', async (t) => {
  const universalNer = loadPromptTemplate('universalner');
  const server = await echoingChatServer(t);
  const backend = await OpenAiBackend.connect(`openai:${server.url}?model=uner`, universalNer, { maxNewTokens: 8 });
  t.after(() => backend.close());
  const text = 'Aspirin eases migraine.';
  const answers = await backend.answer([queryOf(text, ['chemical', 'disease'])]);
  assert.deepEqual(answers, [[{ type: 'chemical', raw: 'Answer: ["chemical"]' }, { type: 'disease', raw: 'Answer: ["disease"]' }]]);
  const asked = server.received.map((r) => r.body.messages).sort((a, b) => a.at(-1).content.localeCompare(b.at(-1).content));
  assert.deepEqual(asked, [conversationFor(universalNer, text, ['chemical'], []), conversationFor(universalNer, text, ['disease'], [])]);
  assert.equal(server.mostInFlight, 2, 'the types side by side');
});

test('OpenAiBackend rejects a reply without a message', async (t) => {
  const server = await fakeServer(t, (_, response) => reply(response, 200, { choices: [] }));
  const backend = await OpenAiBackend.connect(`openai:${server.url}?model=m`, template, { maxNewTokens: 8 });
  t.after(() => backend.close());
  await assert.rejects(backend.answer([queryOf('Fever.', ['disease'])]), isPermanent(/malformed reply to POST \/v1\/chat\/completions/));
});

test('server specs: URLs normalised to their base, mistakes named', () => {
  assert.deepEqual(parseServerSpec('remote:http://a:8080, https://b/v1/', 'remote'), { urls: ['http://a:8080', 'https://b'] });
  assert.deepEqual(parseServerSpec('openai:http://a/v1?model=m,http://b?model=m', 'openai'), { urls: ['http://a', 'http://b'], model: 'm' });
  assert.deepEqual(parseServerSpec('openai:http://gateway/llm/v1', 'openai'), { urls: ['http://gateway/llm'] });
  const mistakes: Array<[string, 'remote' | 'openai', RegExp]> = [
    ['remote:', 'remote', /needs at least one server URL/],
    ['remote:a:8080', 'remote', /"a:8080" is not an http\(s\) URL/],
    ['remote:ftp://a', 'remote', /"ftp:\/\/a" is not an http\(s\) URL/],
    ['remote:http://a?model=m', 'remote', /unknown parameter "model"/],
    ['openai:http://a?modle=m', 'openai', /unknown parameter "modle"/],
    ['openai:http://a?model=m,http://b?model=n', 'openai', /different models: m, n/],
  ];
  for (const [spec, scheme, message] of mistakes) assert.throws(() => parseServerSpec(spec, scheme), message, spec);
});

test('RecordAnnotator waits out unavailable inference without spending the document\'s attempts', async () => {
  const document: Document = { id: 'doc-1', source: 'pubmed', text: 'Fever.' };
  let calls = 0;
  const annotator = {
    annotate: async (d: Document): Promise<AnnotatedDocument> => {
      if (++calls === 1) throw new InferenceUnavailableError('no server');
      return { document: d, entities: [], sentence_count: 1, ungrounded_count: 0, invalid_answer_count: 0 };
    },
  } as Annotator;
  const registry = new FixedSchemaRegistry();
  const metrics = new WorkerMetrics();
  const records = new RecordAnnotator({
    annotator, registry, metrics, entityTypes: EntityTypes.load(), topics: DEFAULT_TOPICS,
    maxDocumentChars: 1000, attempts: 1, retryBackoffMs: 1, stopping: () => false, log: () => undefined,
  });
  const value = await encodeFramed(registry, 'Document', DEFAULT_TOPICS.documents, documentType, toAvroDocument(document));
  const outputs = await records.handle({ topic: DEFAULT_TOPICS.documents, partition: 0, offset: 0n, key: null, value, timestamp: 0 });
  assert.deepEqual(outputs.map((o) => o.topic), [DEFAULT_TOPICS.annotated], 'annotated, not dead-lettered');
  assert.equal(calls, 2);
  assert.match(await metrics.registry.metrics(), /^bioner_inference_unavailable_total 1$/m);
});
