// The inference server over real HTTP with real ONNX sessions (the generated test model).
import { ALL_FEATURES } from '../src/inference/onnx/generation-scheduler.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { defaultPipelineSettings } from '../src/cli/common-options.js';
import type { EntityRecord, Query } from '../src/domain/types.js';
import { OnnxBackend } from '../src/inference/onnx/onnx-backend.js';
import { annotateInOrder } from '../src/pipeline/annotate-in-order.js';
import { assemblePipeline } from '../src/pipeline/assemble-pipeline.js';
import { ANSWERS_PATH, CLIENT_HEADER, type AnswerResponse } from '../src/inference/remote/answer-protocol.js';
import { conversationFor, loadPromptTemplate } from '../src/stages/build-prompt.js';
import { ENTITIES_PATH, InferenceServer, MODEL_ALIAS, type ServeConfig } from '../src/serving/inference-server.js';
import { freePort, metricValue } from './support/kafka.js';
import { testModelDir } from './support/paths.js';

const template = loadPromptTemplate('conv_term');
const MAX_NEW_TOKENS = 12;
const TEXTS = [
  'Mutations in BRCA1 cause hereditary breast cancer.',
  'Aspirin reduced the risk of colorectal adenoma.',
  'Huntington disease is caused by CAG repeats in HTT.',
];
const query = (text: string, types = ['disease', 'chemical']) => ({ text, types });
const asQuery = ({ text, types }: { text: string; types: string[] }, index = 0): Query =>
  ({ sentence: { docId: '', index, start: 0, end: text.length, text }, types });

let modelDir: string;

/** How the servers' /v1/entities annotate here: as `annotate` would, without concept lexicons (not what is tested). */
const ENTITY_TYPES = ['disease', 'chemical'];
const pipelineSettings = () => {
  const { model: _model, engine: _engine, queryBatches: _batches, ...pipeline } = defaultPipelineSettings(modelDir, ENTITY_TYPES);
  return { ...pipeline, lexicons: 'none' };
};

async function serve(overrides: Partial<ServeConfig> = {}): Promise<{ server: InferenceServer; url: (path: string) => string }> {
  const server = await InferenceServer.start({
    model: modelDir, host: '127.0.0.1', port: 0,
    batchSize: 8, batchWaitMs: 5, maxQueued: 64, maxQueuedPerClient: 32, queueTimeoutMs: 30_000,
    maxBodyBytes: 64 * 1024,
    engine: { executionProvider: 'cpu', threads: 1, features: ALL_FEATURES, constrained: false, maxNewTokens: MAX_NEW_TOKENS },
    maxCompletionTokens: 32, pipeline: pipelineSettings(), maxTextsPerRequest: 4, ...overrides,
  });
  return { server, url: (path) => `http://127.0.0.1:${server.port}${path}` };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

before(async () => {
  modelDir = await testModelDir();
});

describe('inference server', () => {
  let server: InferenceServer;
  let url: (path: string) => string;
  before(async () => ({ server, url } = await serve({ token: 'sesame' })));
  after(() => server.drain(5000));
  const auth = { authorization: 'Bearer sesame' };

  test('the native endpoint answers exactly as the engine in-process', async () => {
    const queries = TEXTS.map((t) => query(t));
    const response = await post(url(ANSWERS_PATH), { template, queries }, auth);
    assert.equal(response.status, 200);
    const body = (await response.json()) as AnswerResponse;
    assert.match(body.model, /^tiny-qwen2@[0-9a-f]{12}$/, 'the folder name and a version, not the path');

    const local = await OnnxBackend.start(template, { modelDir, threads: 1, constrained: false, maxNewTokens: MAX_NEW_TOKENS });
    try {
      assert.equal(body.model, local.modelId);
      assert.deepEqual(body.answers.map((a) => a.map(({ type, raw }) => ({ type, raw }))),
        (await local.answer(queries.map(asQuery))).map((a) => a.map(({ type, raw }) => ({ type, raw }))));
    } finally {
      await local.close();
    }
  });

  test('a chat completion of a conv_term turn is the same text as the native answer to it', async () => {
    const asked = query(TEXTS[0]!, ['disease']);
    const native = (await (await post(url(ANSWERS_PATH), { template, queries: [asked] }, auth)).json()) as AnswerResponse;
    const messages = conversationFor(template, asked.text, asked.types, []);
    const response = await post(url('/v1/chat/completions'), { model: 'tiny-qwen2', messages, temperature: 0, max_tokens: MAX_NEW_TOKENS }, auth);
    assert.equal(response.status, 200);
    const chat = (await response.json()) as { object: string; choices: { message: { role: string; content: string }; finish_reason: string }[]; usage: { completion_tokens: number } };
    assert.equal(chat.object, 'chat.completion');
    assert.equal(chat.choices[0]!.message.role, 'assistant');
    assert.equal(chat.choices[0]!.message.content, native.answers[0]![0]!.raw);
    assert.ok(chat.usage.completion_tokens > 0 && chat.usage.completion_tokens <= MAX_NEW_TOKENS);
  });

  test('GET /v1/models lists the model by its id, its folder name and the alias; chats may ask for any', async () => {
    const models = (await (await fetch(url('/v1/models'), { headers: auth })).json()) as { data: { id: string; root: string }[] };
    assert.deepEqual(models.data.map((m) => m.id), [server.modelId, 'tiny-qwen2', MODEL_ALIAS]);
    assert.ok(models.data.every((m) => m.root === server.modelId));
    for (const model of models.data.map((m) => m.id)) {
      const response = await post(url('/v1/chat/completions'), { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }, auth);
      assert.equal(response.status, 200, model);
      assert.equal(((await response.json()) as { model: string }).model, server.modelId);
    }
  });

  test('the native endpoint takes a shipped template by name, or the server\'s when none is given', async () => {
    const queries = [query(TEXTS[1]!)];
    const given = (await (await post(url(ANSWERS_PATH), { template, queries }, auth)).json()) as AnswerResponse;
    for (const body of [{ template: 'conv_term', queries }, { queries }]) {
      const response = await post(url(ANSWERS_PATH), body, auth);
      assert.equal(response.status, 200);
      assert.deepEqual(((await response.json()) as AnswerResponse).answers, given.answers);
    }
    const other = (await (await post(url(ANSWERS_PATH), { template: 'universalner', queries }, auth)).json()) as AnswerResponse;
    assert.notDeepEqual(other.answers.map((a) => a.map((x) => x.raw)), given.answers.map((a) => a.map((x) => x.raw)), 'the named template is the one asked with');
  });

  test('every endpoint refuses an unknown or a repeated entity type with the same 400', async () => {
    for (const [types, message] of [
      [['disease', 'wizard'], /^unknown entity type "wizard"; known: disease, chemical/],
      [['disease', 'Disease'], /^entity type disease asked twice/],
    ] as const) {
      const bodies = await Promise.all([
        post(url(ANSWERS_PATH), { template, queries: [{ text: TEXTS[0], types }] }, auth),
        post(url(ENTITIES_PATH), { texts: [TEXTS[0]], types }, auth),
      ].map(async (pending) => {
        const response = await pending;
        assert.equal(response.status, 400);
        return response.json();
      }));
      assert.deepEqual(bodies[0], bodies[1]);
      assert.match((bodies[0] as { error: { message: string } }).error.message, message);
    }
  });

  test('bad requests get a clear 4xx and an OpenAI-shaped error', async () => {
    const cases: [string, Promise<Response>, number, RegExp][] = [
      ['no token', post(url(ANSWERS_PATH), { template, queries: [query('x')] }), 401, /bearer token/],
      ['not JSON', post(url(ANSWERS_PATH), '{"template":', auth), 400, /not JSON/],
      ['no queries', post(url(ANSWERS_PATH), { template, queries: [] }, auth), 400, /queries/],
      ['bad template', post(url(ANSWERS_PATH), { template: { name: 'x' }, queries: [query('x')] }, auth), 400, /lacks "first_turn"/],
      ['bad types', post(url(ANSWERS_PATH), { template, queries: [{ text: 'x', types: [3] }] }, auth), 400, /types/],
      ['too large', post(url(ANSWERS_PATH), { template, queries: [query('x'.repeat(70_000))] }, auth), 413, /over 65536 bytes/],
      ['sampling', post(url('/v1/chat/completions'), { messages: [{ role: 'user', content: 'hi' }], temperature: 0.7 }, auth), 400, /greedily/],
      ['streaming', post(url('/v1/chat/completions'), { messages: [{ role: 'user', content: 'hi' }], stream: true }, auth), 400, /streaming/],
      ['other model', post(url('/v1/chat/completions'), { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }, auth), 404, /not served here/],
      ['the model by its path', post(url('/v1/chat/completions'), { model: modelDir, messages: [{ role: 'user', content: 'hi' }] }, auth), 404, /not served here/],
      ['unknown template', post(url(ANSWERS_PATH), { template: '../../package', queries: [query('x')] }, auth), 400, /name of one of: conv_term, universalner/],
      ['no texts', post(url(ENTITIES_PATH), { types: ['disease'] }, auth), 400, /either "texts" or "documents"/],
      ['texts and documents', post(url(ENTITIES_PATH), { texts: ['a'], documents: [{ id: '1', text: 'b' }] }, auth), 400, /either "texts" or "documents"/],
      ['blank text', post(url(ENTITIES_PATH), { texts: ['  '] }, auth), 400, /"texts\[0\]" must not be blank/],
      ['same ids', post(url(ENTITIES_PATH), { documents: [{ id: '1', text: 'a' }, { id: '1', text: 'b' }] }, auth), 400, /distinct ids/],
      ['too many texts', post(url(ENTITIES_PATH), { texts: TEXTS.concat(TEXTS) }, auth), 413, /6 texts in one request; at most 4/],
      ['entities too large', post(url(ENTITIES_PATH), { texts: ['x'.repeat(70_000)] }, auth), 413, /over 65536 bytes/],
      ['wrong method', fetch(url(ANSWERS_PATH), { headers: auth }), 405, /use POST/],
      ['no such path', fetch(url('/v2/nothing'), { headers: auth }), 404, /no endpoint/],
    ];
    for (const [name, response, status, message] of cases) {
      const r = await response;
      assert.equal(r.status, status, name);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, message, name);
    }
  });

  test('probes and /metrics need no token; /metrics shows the queue, batches and tokens', async () => {
    assert.equal((await fetch(url('/healthz'))).status, 200);
    assert.equal((await fetch(url('/readyz'))).status, 200);
    const metrics = await (await fetch(url('/metrics'))).text();
    assert.equal(metricValue(metrics, 'bioner_inference_queue_depth'), 0);
    assert.ok(metricValue(metrics, 'bioner_server_batch_size_count', { endpoint: 'answers' })! >= 2);
    assert.ok(metricValue(metrics, 'bioner_generated_tokens_total')! > 0);
    assert.equal(metricValue(metrics, 'bioner_server_requests_total', { endpoint: 'answers', code: '401' }), 1);
  });
});

describe('the entities endpoint', () => {
  // Constrained, as `annotate` runs by default: the test model's answers are then spans of the
  // sentence, so there are records to compare.
  const engine = { executionProvider: 'cpu', threads: 1, features: ALL_FEATURES, constrained: true, maxNewTokens: MAX_NEW_TOKENS } as const;
  let server: InferenceServer;
  let url: (path: string) => string;
  before(async () => ({ server, url } = await serve({ engine })));
  after(() => server.drain(5000));

  test('gives the records `annotate` gives for the same texts, named by the model\'s name and version', async () => {
    const response = await post(url(ENTITIES_PATH), { texts: TEXTS });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { model: string; types: string[]; documents: { id: string; entities: EntityRecord[] }[] };
    assert.equal(body.model, server.modelId);
    assert.deepEqual(body.types, ENTITY_TYPES, 'the server\'s default types');
    assert.deepEqual(body.documents.map((d) => d.id), ['text-1', 'text-2', 'text-3']);

    const local = await assemblePipeline({ ...pipelineSettings(), model: modelDir, engine, queryBatches: { size: 8, waitMs: 5 } });
    try {
      const expected: EntityRecord[][] = [];
      for await (const annotated of annotateInOrder(local.annotator, TEXTS.map((text, i) => ({ id: `text-${i + 1}`, source: 'other' as const, text })))) {
        expected.push(annotated.entities);
      }
      assert.ok(expected.flat().length > 0, 'the texts give records to compare');
      // Other batch neighbours change the last digits of a confidence, nothing else.
      const apartFromConfidence = (records: EntityRecord[][]) => records.map((d) => d.map(({ confidence: _, ...rest }) => rest));
      assert.deepEqual(apartFromConfidence(body.documents.map((d) => d.entities)), apartFromConfidence(expected));
      body.documents.flatMap((d) => d.entities).forEach((r, i) => {
        const want = expected.flat()[i]!.confidence!;
        assert.ok(Math.abs(r.confidence! - want) <= 1e-4 * want, `confidence of ${r.text}`);
      });
      assert.ok(expected.flat().every((r) => r.provenance.model_id === server.modelId));
    } finally {
      await local.close();
    }
  });

  test('documents keep their ids, and the types asked are those named', async () => {
    const response = await post(url(ENTITIES_PATH), { documents: [{ id: 'pmid-1', text: TEXTS[0] }], types: ['Chemical'] });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { types: string[]; documents: { id: string; entities: EntityRecord[] }[] };
    assert.deepEqual(body.types, ['chemical']);
    assert.equal(body.documents[0]!.id, 'pmid-1');
    assert.ok(body.documents[0]!.entities.every((r) => r.doc_id === 'pmid-1' && r.type === 'chemical'));
  });

  test('a text with more sentences than the pipeline takes gets 413', async () => {
    const { server, url } = await serve({ engine, pipeline: { ...pipelineSettings(), maxSentences: 2 } });
    try {
      const response = await post(url(ENTITIES_PATH), { texts: [TEXTS.join(' ')] });
      assert.equal(response.status, 413);
      assert.match(((await response.json()) as { error: { message: string } }).error.message, /splits into 3 sentences; the limit is 2/);
    } finally {
      await server.drain(5000);
    }
  });
});

describe('inference server under load and shutdown', () => {
  test('/readyz turns true only once the model is loaded and warmed up', async () => {
    const port = await freePort();
    const starting = serve({ port });
    // Listening starts before the model loads: the probes answer, readiness is refused.
    let first: number | undefined;
    while (first === undefined) first = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => undefined);
    assert.equal(first, 503);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    const { server, url } = await starting;
    try {
      assert.equal((await fetch(url('/readyz'))).status, 200);
      const metrics = await (await fetch(url('/metrics'))).text();
      assert.equal(metricValue(metrics, 'bioner_prompt_tokens_total'), 0, 'the warm-up is not counted as served work');
    } finally {
      await server.drain(5000);
    }
  });

  test('a full queue answers 503, a client over its share 429, both with Retry-After; the server keeps serving', async () => {
    // Batches wait up to a second to fill, so everything sent now stays queued.
    const { server, url } = await serve({ batchWaitMs: 1000, maxQueued: 6, maxQueuedPerClient: 4 });
    try {
      const send = (client: string, n: number) =>
        post(url(ANSWERS_PATH), { template, queries: TEXTS.slice(0, n).map((t) => query(t)) }, { [CLIENT_HEADER]: client });
      const first = send('a', 3);
      await new Promise((r) => setTimeout(r, 100));
      const overShare = await send('a', 2);
      assert.equal(overShare.status, 429);
      assert.ok(Number(overShare.headers.get('retry-after')) >= 1);
      const second = send('b', 3);
      await new Promise((r) => setTimeout(r, 100));
      const full = await send('c', 1);
      assert.equal(full.status, 503);
      assert.ok(Number(full.headers.get('retry-after')) >= 1);
      assert.match(((await full.json()) as { error: { message: string } }).error.message, /queue full/);
      assert.deepEqual([(await first).status, (await second).status], [200, 200]);
      assert.equal((await send('c', 1)).status, 200, 'serving again once the queue has room');
      const metrics = await (await fetch(url('/metrics'))).text();
      assert.equal(metricValue(metrics, 'bioner_server_rejected_total', { reason: 'queue_full' }), 1);
      assert.equal(metricValue(metrics, 'bioner_server_rejected_total', { reason: 'client_over_share' }), 1);
    } finally {
      await server.drain(5000);
    }
  });

  test('a request whose work has not started within the queue timeout gets 503, and that work is withdrawn', async () => {
    const { server, url } = await serve({ batchWaitMs: 2000, queueTimeoutMs: 300 });
    try {
      const response = await post(url(ANSWERS_PATH), { template, queries: [query(TEXTS[0]!)] });
      assert.equal(response.status, 503);
      assert.match(((await response.json()) as { error: { message: string } }).error.message, /not started within 300 ms/);
      const metrics = await (await fetch(url('/metrics'))).text();
      assert.equal(metricValue(metrics, 'bioner_inference_queue_depth'), 0);
    } finally {
      await server.drain(5000);
    }
  });

  test('drain: not ready, queued work still answered, new work refused', async () => {
    const { server, url } = await serve({ batchWaitMs: 500 });
    const queued = post(url(ANSWERS_PATH), { template, queries: [query(TEXTS[1]!)] });
    await new Promise((r) => setTimeout(r, 100));
    const drained = server.drain(10_000);
    assert.equal((await fetch(url('/readyz'))).status, 503);
    const refused = await post(url(ANSWERS_PATH), { template, queries: [query(TEXTS[2]!)] });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('connection'), 'close');
    assert.equal((await queued).status, 200);
    await drained;
  });
});
