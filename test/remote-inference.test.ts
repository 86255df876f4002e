// Workers on CPU pods, the model on inference pods: a real `serve` process, a real broker and a
// real worker process, with the generated test model (its random weights find plenty of
// "entities", so any difference between the paths shows).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { readCorpus } from '../src/corpora/index.js';
import { decodeAnnotatedDocument, decodeEntityRecord } from '../src/domain/avro.js';
import type { Document, EntityRecord } from '../src/domain/types.js';
import { avroBody } from '../src/domain/wire-format.js';
import { DEFAULT_ENGINE_OPTIONS } from '../src/inference/onnx/onnx-backend.js';
import { OpenAiBackend } from '../src/inference/remote/openai-backend.js';
import { RemoteBackend } from '../src/inference/remote/remote-backend.js';
import type { Topics } from '../src/domain/records.js';
import { loadPromptTemplate } from '../src/stages/build-prompt.js';
import { splitSentences } from '../src/stages/split-sentences.js';
import {
  framedDocument, freshTopics, metricValue, produce, readUntil, startWorker, stopWorker, suiteBrokers, type WorkerProcess,
} from './support/kafka.js';
import { NCBI_SAMPLE_OR_TEST, testModelDir } from './support/paths.js';
import { startServer, type ServerProcess } from './support/serve.js';

const TYPES = 'disease,chemical';
let brokers: string;
let modelDir: string;
let documents: Document[];
/** What the worker publishes with the model in-process. */
let expected: Map<string, EntityRecord>;

const span = (r: EntityRecord) => JSON.stringify([r.entity_id, r.doc_id, r.start, r.end, r.text, r.type, r.category, r.provenance]);

/** Produces the documents, runs a worker with `model` until every document is annotated, and returns its outputs. */
async function annotateThroughKafka(model: string, args: string[] = [], duringRun?: (worker: WorkerProcess, topics: Topics) => Promise<void>) {
  const topics = await freshTopics(brokers, 2);
  await produce(brokers, topics.documents, documents.map((d) => ({ key: d.id, value: framedDocument(d) })));
  const worker = await startWorker(brokers, topics, ['--model', model, '--types', TYPES, '--group-id', `g-${topics.documents}`, ...args]);
  try {
    await duringRun?.(worker, topics);
    const annotated = await readUntil(brokers, topics.annotated,
      (r) => new Set(r.map((m) => decodeAnnotatedDocument(avroBody(m.value)).document.id)).size >= documents.length,
      { timeoutMs: 180_000 });
    const ids = new Set(annotated.map((m) => decodeAnnotatedDocument(avroBody(m.value)).document.id));
    assert.equal(ids.size, documents.length, `every document annotated:\n${worker.output()}`);
    const entities = (await readUntil(brokers, topics.entities, () => false, { timeoutMs: 3000 }))
      .map((m) => decodeEntityRecord(avroBody(m.value)));
    const metrics = await worker.metrics();
    assert.equal(await stopWorker(worker), 0, worker.output());
    return { entities: new Map(entities.map((e) => [span(e), e])), metrics };
  } finally {
    worker.child.kill('SIGKILL');
  }
}

function assertSameEntities(got: Map<string, EntityRecord>): void {
  assert.ok(expected.size > 20, `the test model finds entities (${expected.size})`);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
  for (const [key, entity] of got) {
    assert.equal(entity.provenance.model_id, expected.get(key)!.provenance.model_id, 'a served model is named as the same model in-process');
    assert.ok(Math.abs(entity.confidence! - expected.get(key)!.confidence!) <= 1e-4 * Math.max(1e-30, expected.get(key)!.confidence!) + 1e-9,
      `confidence of ${key}`);
  }
}

async function stopServer(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

before(async () => {
  brokers = await suiteBrokers();
  modelDir = await testModelDir();
  documents = (await readCorpus(NCBI_SAMPLE_OR_TEST, 'pubtator')).documents.slice(0, 8);
  expected = (await annotateThroughKafka(modelDir)).entities;
});

describe('worker with a remote inference server', () => {
  test('remote: gives the same entities as in-process inference', async () => {
    const server = await startServer(modelDir, ['--inference-threads', '1']);
    try {
      const { entities, metrics } = await annotateThroughKafka(`remote:${server.url}`);
      assertSameEntities(entities);
      assert.equal(metricValue(metrics, 'bioner_documents_total', { outcome: 'annotated' }), documents.length);
      const served = await server.metrics();
      assert.ok(metricValue(served, 'bioner_server_requests_total', { endpoint: 'answers', code: '200' })! > 0);
    } finally {
      await stopServer(server);
    }
  });

  test('openai: conv_term driven turn by turn over /v1/chat/completions answers as the native endpoint does', async () => {
    // Unconstrained, so that both paths run the same greedy decoding; two types, so the second
    // turn shows that the client carried the first answer.
    const server = await startServer(modelDir, ['--inference-threads', '1', '--constrained', 'off']);
    const template = loadPromptTemplate('conv_term');
    const viaChat = await OpenAiBackend.connect(`openai:${server.url}/v1`, template, { maxNewTokens: DEFAULT_ENGINE_OPTIONS.maxNewTokens });
    const viaNative = await RemoteBackend.connect(`remote:${server.url}`, template);
    try {
      const queries = splitSentences(documents[0]!).slice(0, 4).map((sentence) => ({ sentence, types: ['disease', 'chemical'] }));
      const chat = await viaChat.answer(queries);
      assert.match(viaChat.modelId, /^tiny-qwen2@[0-9a-f]{12}$/, 'the folder name and a version, not the path');
      assert.equal(viaChat.modelId, viaNative.modelId);
      assert.deepEqual(chat, (await viaNative.answer(queries)).map((answers) => answers.map(({ type, raw }) => ({ type, raw }))));
      assert.equal(new Set(chat.flat().map((a) => a.raw)).size, 8, 'eight different answers: a wrong history would show');
      const served = await server.metrics();
      assert.equal(metricValue(served, 'bioner_server_requests_total', { endpoint: 'chat_completions', code: '200' }), 8);
    } finally {
      await Promise.all([viaChat.close(), viaNative.close()]);
      await stopServer(server);
    }
  });

  test('overload: the server answers 429/503, the worker backs off and still annotates everything', async () => {
    const server = await startServer(modelDir, ['--inference-threads', '1', '--max-queued', '6', '--max-queued-per-client', '4']);
    try {
      const { entities, metrics } = await annotateThroughKafka(`remote:${server.url}`, ['--query-batches-in-flight', '8', '--query-batch-size', '2']);
      const served = await server.metrics();
      const refused = (metricValue(served, 'bioner_server_requests_total', { endpoint: 'answers', code: '429' }) ?? 0) +
        (metricValue(served, 'bioner_server_requests_total', { endpoint: 'answers', code: '503' }) ?? 0);
      assert.ok(refused > 0, 'the server refused some requests');
      assertSameEntities(entities);
      assert.equal(metricValue(metrics, 'bioner_dead_letters_total', { reason: 'processing_failed' }) ?? 0, 0);
    } finally {
      await stopServer(server);
    }
  });

  test('killing the server mid-stream loses nothing once it is back', async () => {
    let server = await startServer(modelDir, ['--inference-threads', '1']);
    try {
      const { entities, metrics } = await annotateThroughKafka(`remote:${server.url}`, [], async (_, topics) => {
        await readUntil(brokers, topics.annotated, (r) => r.length >= 2, { timeoutMs: 60_000 });
        server.child.kill('SIGKILL');
        await server.exited;
        await new Promise((r) => setTimeout(r, 3000));
        server = await startServer(modelDir, ['--inference-threads', '1'], server.port);
      });
      assertSameEntities(entities);
      assert.equal(metricValue(metrics, 'bioner_dead_letters_total', { reason: 'processing_failed' }) ?? 0, 0);
      assert.ok(metricValue(metrics, 'bioner_inference_unavailable_total')! > 0, 'the worker saw the server gone');
    } finally {
      await stopServer(server);
    }
  });
});
