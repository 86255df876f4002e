// Fuzzing with fast-check against the real processes: random and mutated Avro messages through a
// worker on a real broker, random request bodies to `serve`. Seeds are printed; rerun one with
// BIONER_FUZZ_SEED=N.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { readCorpus } from '../../src/corpora/index.js';
import { loadPromptTemplate } from '../../src/stages/build-prompt.js';
import { ANSWERS_PATH } from '../../src/inference/remote/answer-protocol.js';
import { committedOffsets, framedDocument, freshTopics, metricValue, produce, readUntil, startWorker, stopWorker, suiteBrokers } from '../support/kafka.js';
import { NCBI_SAMPLE_OR_TEST, testModelDir } from '../support/paths.js';
import { startServer } from '../support/serve.js';

const SEED = Number(process.env.BIONER_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** A valid framed document, then some of its bytes flipped, cut, or spliced with random ones. */
const mutated = (valid: Buffer[]) => fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.option(fc.nat()))
  .map(([bytes, flips, cut]) => {
    const copy = Buffer.from(bytes);
    for (const [at, value] of flips) copy[at % copy.length] = value;
    return cut === null ? copy : copy.subarray(0, cut % copy.length);
  });

test(`random and mutated Avro messages never crash the worker nor block its partition (seed ${SEED})`, async () => {
  const documents = (await readCorpus(NCBI_SAMPLE_OR_TEST, 'pubtator')).documents.slice(0, 20);
  const valid = documents.map(framedDocument);
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    mutated(valid),
    fc.record({ id: fc.string({ minLength: 1, maxLength: 20 }), text: fc.string({ unit: 'binary', maxLength: 400 }) })
      .map(({ id, text }) => framedDocument({ id, source: 'pubmed', text })),
    fc.constant(null),
  );
  const values = fc.sample(message, { seed: SEED, numRuns: 300 });
  const brokers = await suiteBrokers();
  const topics = await freshTopics(brokers, 1);
  await produce(brokers, topics.documents, values.map((value, i) => ({ key: `fuzz-${i}`, value })));
  const groupId = `fuzz-${topics.documents}`;
  const worker = await startWorker(brokers, topics, ['--model', `oracle:${NCBI_SAMPLE_OR_TEST}`, '--group-id', groupId]);
  try {
    const deadline = Date.now() + 120_000;
    while ((await committedOffsets(brokers, groupId, topics.documents)).get(0) !== BigInt(values.length) && Date.now() < deadline) {
      assert.equal(worker.child.exitCode, null, `the worker died:\n${worker.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal((await committedOffsets(brokers, groupId, topics.documents)).get(0), BigInt(values.length), `every record committed\n${worker.output()}`);
    const tombstones = values.filter((v) => v === null).length;
    const annotated = await readUntil(brokers, topics.annotated, () => false, { timeoutMs: 3000 });
    const dead = await readUntil(brokers, topics.deadLetters, () => false, { timeoutMs: 3000 });
    assert.equal(annotated.length + dead.length + tombstones, values.length, 'one outcome per record');
    const metrics = await worker.metrics();
    assert.equal(metricValue(metrics, 'bioner_handler_faults_total'), 0, 'no record failed unexpectedly');
    console.log(`fuzz (seed ${SEED}): ${annotated.length} annotated, ${dead.length} dead letters, ${tombstones} tombstones`);
    assert.equal(await stopWorker(worker), 0, worker.output());
  } finally {
    worker.child.kill('SIGKILL');
  }
});

test(`random request bodies to serve get a 2xx or 4xx, never a 5xx or a hang (seed ${SEED})`, async () => {
  const server = await startServer(await testModelDir(), ['--max-new-tokens', '4', '--max-body-bytes', '65536']);
  const template = loadPromptTemplate('conv_term');
  const validAnswers = { template, queries: [{ text: 'Aspirin and fever.', types: ['disease'] }] };
  const validChat = { messages: [{ role: 'user', content: 'Aspirin and fever.' }], temperature: 0, max_tokens: 4 };
  const json = fc.jsonValue({ maxDepth: 3 });
  // Valid requests with one field replaced by any JSON value, or any JSON, or any bytes.
  const tampered = (valid: Record<string, unknown>) => fc.tuple(fc.constantFrom(...Object.keys(valid)), json)
    .map(([key, value]) => JSON.stringify({ ...valid, [key]: value }));
  const body = fc.oneof(tampered(validAnswers), tampered(validChat), json.map((v) => JSON.stringify(v)),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)));
  const path = fc.constantFrom(ANSWERS_PATH, '/v1/chat/completions', '/v1/models', '/healthz', '/nothing');
  const method = fc.constantFrom('POST', 'GET', 'PUT');
  let requests = 0;
  try {
    await fc.assert(fc.asyncProperty(path, method, body, async (p, m, b) => {
      requests++;
      const response = await fetch(`${server.url}${p}`, {
        method: m, headers: { 'content-type': 'application/json' }, ...(m === 'GET' ? {} : { body: b }), signal: AbortSignal.timeout(30_000),
      });
      await response.arrayBuffer();
      assert.ok(response.status < 500, `${m} ${p} ${String(b).slice(0, 200)} → ${response.status}`);
    }), { seed: SEED, numRuns: 300 });
    assert.equal(server.child.exitCode, null, 'the server is still up');
    console.log(`serve fuzz (seed ${SEED}): ${requests} requests, no 5xx, no hang`);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});
