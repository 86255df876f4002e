// The streaming worker against a real Apache Kafka broker: no fakes anywhere.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { readCorpus } from '../src/corpora/index.js';
import { decodeAnnotatedDocument, decodeEntityRecord, documentType, toAvroDocument } from '../src/domain/avro.js';
import type { Document, EntityRecord } from '../src/domain/types.js';
import { avroBody } from '../src/domain/wire-format.js';
import { DEAD_LETTER_HEADERS } from '../src/domain/dead-letter.js';
import {
  committedOffsets, framedDocument, freshTopics, metricValue, produce, readUntil, startWorker, stopWorker, suiteBrokers,
} from './support/kafka.js';
import { CLI, NCBI_SAMPLE_OR_TEST } from './support/paths.js';

const ORACLE = `oracle:${NCBI_SAMPLE_OR_TEST}`;
let documents: Document[];
let brokers: string;

before(async () => {
  brokers = await suiteBrokers();
  documents = (await readCorpus(NCBI_SAMPLE_OR_TEST, 'pubtator')).documents;
});

const asMessages = (docs: Document[]) => docs.map((d) => ({ key: d.id, value: framedDocument(d) }));
const annotatedIds = (received: { value: Buffer }[]) => received.map((r) => decodeAnnotatedDocument(avroBody(r.value)).document.id);
const distinct = (ids: string[]) => new Set(ids).size;

async function annotateWithCli(): Promise<EntityRecord[]> {
  const out = join(await mkdtemp(join(tmpdir(), 'bioner-kafka-')), 'expected.jsonl');
  await promisify(execFile)(process.execPath, [CLI, 'annotate', '--input', NCBI_SAMPLE_OR_TEST, '--input-format', 'pubtator',
    '--model', ORACLE, '--types', 'disease', '--output', out]);
  return (await readFile(out, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** A framed message whose "é" bytes are replaced by bytes that are not UTF-8. */
function withInvalidUtf8(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy.set([0xff, 0xfe], copy.indexOf(Buffer.from('\u00e9')));
  return copy;
}

const recordKey = (r: EntityRecord) => JSON.stringify([r.entity_id, r.doc_id, r.start, r.end, r.text, r.type, r.category]);

describe('streaming worker on a real broker', () => {
  test('end to end: every document yields one AnnotatedDocument and the entities annotate gives', async () => {
    const topics = await freshTopics(brokers, 3);
    await produce(brokers, topics.documents, asMessages(documents));
    const groupId = `e2e-${topics.documents}`;
    const worker = await startWorker(brokers, topics, ['--model', ORACLE, '--group-id', groupId]);
    const diagnosis = async () => `committed offsets ${JSON.stringify([...await committedOffsets(brokers, groupId, topics.documents)]
      .map(([p, o]) => [p, String(o)]))}\n--- worker log ---\n${worker.output()}`;
    try {
      const annotated = await readUntil(brokers, topics.annotated, (r) => distinct(annotatedIds(r)) >= documents.length);
      assert.equal(distinct(annotatedIds(annotated)), documents.length, await diagnosis());
      // At-least-once repeats a document only when its partition moved before the commit: a rejoin.
      const rejoined = worker.output().split('joined group generation').length - 1 > 1;
      if (!rejoined) assert.equal(annotated.length, documents.length, `one AnnotatedDocument per document\n${await diagnosis()}`);

      const expected = await annotateWithCli();
      const entities = await readUntil(brokers, topics.entities, (r) => new Set(r.map((e) => recordKey(decodeEntityRecord(avroBody(e.value))))).size >= expected.length, { timeoutMs: 10_000 });
      const got = entities.map((e) => decodeEntityRecord(avroBody(e.value)));
      assert.deepEqual(new Set(got.map(recordKey)), new Set(expected.map(recordKey)));
      if (!rejoined) assert.equal(got.length, expected.length, 'no duplicates without a rejoin');
      for (const e of entities) assert.equal(e.value.readInt32BE(1), 2, 'framed with the EntityRecord schema id');

      const metrics = await worker.metrics();
      if (!rejoined) {
        assert.equal(metricValue(metrics, 'bioner_documents_total', { outcome: 'annotated' }), documents.length);
        assert.equal(metricValue(metrics, 'bioner_entities_total', { type: 'disease' }), expected.length);
      }
      assert.ok(metricValue(metrics, 'bioner_inference_duration_seconds_count')! > 0);
      assert.ok(metricValue(metrics, 'bioner_end_to_end_latency_seconds_count')! >= documents.length);
      assert.ok(metricValue(metrics, 'process_resident_memory_bytes')! > 0, 'default process metrics');
      assert.equal(metricValue(metrics, 'bioner_handler_faults_total'), 0);
      assert.equal(await stopWorker(worker), 0, worker.output());
    } finally {
      worker.child.kill('SIGKILL');
    }
  });

  test('bad input goes to the dead-letter topic with its reason; the partition keeps flowing', async () => {
    const topics = await freshTopics(brokers, 1);
    const valid = documents.slice(0, 4);
    const plainAvro = documentType.toBuffer(toAvroDocument(valid[3]!));
    const bad: Array<[string, Buffer, string]> = [
      ['garbage', Buffer.from('this is not avro at all \u0001\u0002'), 'undecodable'],
      ['truncated', framedDocument(valid[0]!).subarray(0, 40), 'undecodable'],
      ['invalid-utf8', withInvalidUtf8(framedDocument({ id: 'utf8', source: 'pubmed', text: 'Fever \u00e9 and cough.' })), 'undecodable'],
      ['wrong-schema-id', Buffer.concat([Buffer.from([0, 0, 0, 0, 99]), plainAvro]), 'unknown_schema'],
      ['empty', framedDocument({ id: 'empty', source: 'pubmed', text: '   ' }), 'empty_text'],
      ['oversized', framedDocument({ id: 'big', source: 'pubmed', text: 'Cancer. '.repeat(5000) }), 'oversized_text'],
      ['nul', framedDocument({ id: 'nul', source: 'pubmed', text: 'Fever\u0000 and cough.' }), 'invalid_document'],
      ['empty-id', framedDocument({ id: ' ', source: 'pubmed', text: 'Fever.' }), 'invalid_document'],
      ['unknown-type', framedDocument({ id: 'planet', source: 'pubmed', text: 'Fever.', types: ['planet'] }), 'invalid_document'],
      ['repeated-type', framedDocument({ id: 'twice', source: 'pubmed', text: 'Fever.', types: ['disease', 'Disease'] }), 'invalid_document'],
      ['many-sentences', framedDocument({ id: 'many', source: 'pubmed', text: 'Fever. '.repeat(40) }), 'too_many_sentences'],
    ];
    // Handled by design, not dead letters: a tombstone has no document; a repeated id is
    // annotated again with the same entity ids; a 20,000-character word is cut into bounded sentences.
    const longWord: Document = { id: 'long-word', source: 'pubmed', text: `Patients with ${'ACGT'.repeat(5000)} had fever.` };
    const messages = [
      { key: valid[0]!.id, value: framedDocument(valid[0]!) },
      ...bad.slice(0, 5).map(([key, value]) => ({ key, value })),
      { key: 'tombstone', value: null },
      { key: valid[1]!.id, value: framedDocument(valid[1]!) },
      ...bad.slice(5).map(([key, value]) => ({ key, value })),
      { key: valid[2]!.id, value: framedDocument(valid[2]!) },
      { key: valid[0]!.id, value: framedDocument(valid[0]!) },
      { key: longWord.id, value: framedDocument(longWord) },
      { key: valid[3]!.id, value: plainAvro },
    ];
    await produce(brokers, topics.documents, messages);
    const worker = await startWorker(brokers, topics, ['--model', ORACLE, '--max-document-chars', '30000', '--max-sentences', '30',
      '--group-id', `dlq-${topics.documents}`]);
    try {
      const dead = await readUntil(brokers, topics.deadLetters, (r) => r.length >= bad.length);
      const byKey = new Map(dead.map((d) => [d.key, d]));
      for (const [key, value, reason] of bad) {
        const letter = byKey.get(key);
        assert.ok(letter, `${key} reached the DLQ`);
        assert.equal(letter.headers[DEAD_LETTER_HEADERS.reason]?.toString(), reason, key);
        assert.deepEqual(letter.value, value, 'original bytes kept');
        assert.equal(letter.headers[DEAD_LETTER_HEADERS.topic]?.toString(), topics.documents);
        assert.equal(letter.headers[DEAD_LETTER_HEADERS.partition]?.toString(), '0');
        assert.match(letter.headers[DEAD_LETTER_HEADERS.offset]?.toString() ?? '', /^\d+$/);
        assert.ok(!Number.isNaN(Date.parse(letter.headers[DEAD_LETTER_HEADERS.timestamp]?.toString() ?? '')));
        assert.ok((letter.headers[DEAD_LETTER_HEADERS.detail]?.toString() ?? '').length > 0);
      }
      const expectedIds = [...valid.map((d) => d.id), valid[0]!.id, longWord.id];
      const annotated = await readUntil(brokers, topics.annotated, (r) => r.length >= expectedIds.length);
      assert.deepEqual(annotatedIds(annotated).sort(), expectedIds.sort());
      const twice = annotated.map((r) => decodeAnnotatedDocument(avroBody(r.value))).filter((a) => a.document.id === valid[0]!.id);
      assert.deepEqual(twice[0]!.entities.map((e) => e.entity_id), twice[1]!.entities.map((e) => e.entity_id), 'a repeated id keeps its entity ids');
      const long = annotated.map((r) => decodeAnnotatedDocument(avroBody(r.value))).find((a) => a.document.id === longWord.id)!;
      assert.ok(long.sentence_count > 1, `the long word was cut: ${long.sentence_count} sentences`);

      const metrics = await worker.metrics();
      assert.equal(metricValue(metrics, 'bioner_dead_letters_total', { reason: 'undecodable' }), 3);
      assert.equal(metricValue(metrics, 'bioner_dead_letters_total', { reason: 'unknown_schema' }), 1);
      assert.equal(metricValue(metrics, 'bioner_dead_letters_total', { reason: 'empty_text' }), 1);
      assert.equal(metricValue(metrics, 'bioner_dead_letters_total', { reason: 'oversized_text' }), 1);
      assert.equal(metricValue(metrics, 'bioner_dead_letters_total', { reason: 'invalid_document' }), 4);
      assert.equal(metricValue(metrics, 'bioner_dead_letters_total', { reason: 'too_many_sentences' }), 1);
      assert.equal(metricValue(metrics, 'bioner_documents_total', { outcome: 'tombstone' }), 1);
      assert.equal(metricValue(metrics, 'bioner_documents_total', { outcome: 'annotated' }), expectedIds.length);
      const committed = await committedOffsets(brokers, `dlq-${topics.documents}`, topics.documents);
      assert.equal(committed.get(0), BigInt(messages.length), 'every record committed: nothing blocks the partition');
    } finally {
      await stopWorker(worker);
    }
  });

  test('a document that fails every attempt is a processing_failed dead letter, and the partition goes on', async () => {
    // An inference server that refuses every request as malformed: no retry can get past it.
    const refuser = createServer((request, response) => {
      request.resume();
      const [status, body] = request.method === 'GET'
        ? [200, { object: 'list', data: [{ id: 'refuser', object: 'model' }] }]
        : [400, { error: { message: 'refused for the test' } }];
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve));
    after(() => refuser.close());
    const topics = await freshTopics(brokers, 1);
    const failing = documents.slice(0, 2);
    await produce(brokers, topics.documents, asMessages(failing));
    const groupId = `failing-${topics.documents}`;
    const worker = await startWorker(brokers, topics, ['--model', `remote:http://127.0.0.1:${(refuser.address() as AddressInfo).port}`,
      '--group-id', groupId]);
    try {
      const dead = await readUntil(brokers, topics.deadLetters, (r) => r.length >= failing.length);
      assert.deepEqual(dead.map((d) => d.headers[DEAD_LETTER_HEADERS.reason]?.toString()), ['processing_failed', 'processing_failed']);
      assert.match(dead[0]!.headers[DEAD_LETTER_HEADERS.detail]!.toString(), /failed after 3 attempts: .*HTTP 400/);
      assert.equal((await committedOffsets(brokers, groupId, topics.documents)).get(0), BigInt(failing.length), worker.output());
    } finally {
      await stopWorker(worker);
    }
  });
});
