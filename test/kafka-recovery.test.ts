// Failures on a real broker: a worker killed mid-stream, a broker restarted, a slow model.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCorpus } from '../src/corpora/index.js';
import { decodeAnnotatedDocument, decodeEntityRecord } from '../src/domain/avro.js';
import type { Document } from '../src/domain/types.js';
import { avroBody } from '../src/domain/wire-format.js';
import {
  framedDocument, freshTopics, metricValue, produce, readUntil, startBroker, startWorker, stopWorker, suiteBrokers,
  type Received, type WorkerProcess,
} from './support/kafka.js';
import { NCBI_SAMPLE_OR_TEST, testModelDir } from './support/paths.js';

const ORACLE = `oracle:${NCBI_SAMPLE_OR_TEST}`;
// Few documents in flight and batches that close on time, not size: the stream takes seconds.
const SLOW = ['--model', ORACLE, '--query-batch-size', '1000', '--query-batch-wait-ms', '250', '--max-in-flight', '3'];

let documents: Document[];
before(async () => {
  documents = (await readCorpus(NCBI_SAMPLE_OR_TEST, 'pubtator')).documents;
});

const messages = (docs: Document[]) => docs.map((d) => ({ key: d.id, value: framedDocument(d) }));
const docIds = (received: Received[]) => received.map((r) => decodeAnnotatedDocument(avroBody(r.value)).document.id);
const allDocuments = (received: Received[]) => new Set(docIds(received)).size >= documents.length;

async function killAfter(brokers: string, topic: string, worker: WorkerProcess, seen: number): Promise<void> {
  await readUntil(brokers, topic, (r) => r.length >= seen);
  worker.child.kill('SIGKILL');
  await worker.exited;
}

describe('recovery on a real broker', () => {
  for (const delivery of ['at-least-once', 'exactly-once'] as const) {
    test(`${delivery}: a worker killed with SIGKILL mid-stream loses no document`, async () => {
      const brokers = await suiteBrokers();
      const topics = await freshTopics(brokers, 2);
      await produce(brokers, topics.documents, messages(documents));
      const args = [...SLOW, '--group-id', `crash-${topics.documents}`, '--delivery', delivery, '--instance-id', 'crash-test'];
      const first = await startWorker(brokers, topics, args);
      await killAfter(brokers, topics.annotated, first, Math.min(20, documents.length - 1));

      const second = await startWorker(brokers, topics, args);
      try {
        const readCommitted = delivery === 'exactly-once';
        await readUntil(brokers, topics.annotated, allDocuments, { timeoutMs: 120_000, readCommitted });
        assert.equal(await stopWorker(second), 0, second.output());
        // Everything published, read back in full.
        const annotated = await readUntil(brokers, topics.annotated, () => false, { timeoutMs: 4000, readCommitted });
        const entities = await readUntil(brokers, topics.entities, () => false, { timeoutMs: 4000, readCommitted });
        assert.deepEqual(new Set(docIds(annotated)), new Set(documents.map((d) => d.id)), 'no document lost');

        const idBySpan = new Map<string, string>();
        for (const e of entities.map((r) => decodeEntityRecord(avroBody(r.value)))) {
          const span = `${e.doc_id}:${e.start}:${e.end}:${e.type}`;
          assert.equal(idBySpan.get(span) ?? e.entity_id, e.entity_id, 'a duplicate carries the same entity_id');
          idBySpan.set(span, e.entity_id);
        }
        if (readCommitted) {
          assert.equal(annotated.length, documents.length, 'read_committed sees no duplicate document');
          assert.equal(entities.length, idBySpan.size, 'read_committed sees no duplicate entity');
        }
      } finally {
        second.child.kill('SIGKILL');
      }
    });
  }

  test('a broker stopped mid-stream and restarted: the worker recovers and nothing is lost', async () => {
    const broker = await startBroker();
    try {
      const topics = await freshTopics(broker.bootstrap, 1);
      await produce(broker.bootstrap, topics.documents, messages(documents));
      const worker = await startWorker(broker.bootstrap, topics, [...SLOW, '--group-id', `restart-${topics.documents}`]);
      try {
        await readUntil(broker.bootstrap, topics.annotated, (r) => r.length >= Math.min(10, documents.length - 1));
        await broker.stop({ keepData: true });
        await sleep(3000);
        const restarted = await startBroker({ port: broker.port, dataDir: broker.dataDir });
        Object.assign(broker, restarted);
        const annotated = await readUntil(broker.bootstrap, topics.annotated, allDocuments, { timeoutMs: 180_000 });
        assert.deepEqual(new Set(docIds(annotated)), new Set(documents.map((d) => d.id)), worker.output());
        assert.equal(worker.child.exitCode, null, 'the worker kept running');
      } finally {
        await stopWorker(worker);
      }
    } finally {
      await broker.stop();
    }
  });

  test('backpressure: with a slow model the worker pauses and resumes, and memory stays bounded', async () => {
    const brokers = await suiteBrokers();
    const topics = await freshTopics(brokers, 1);
    await produce(brokers, topics.documents, messages(documents));
    const maxInFlight = 4;
    const worker = await startWorker(brokers, topics, ['--model', await testModelDir(), '--max-in-flight', String(maxInFlight),
      '--max-new-tokens', '4', '--query-batch-size', '8', '--group-id', `slow-${topics.documents}`]);
    try {
      let pausedSeen = false;
      let resumedAfterPause = false;
      let maxSeen = 0;
      let peakRss = 0;
      const deadline = Date.now() + 120_000;
      while (!resumedAfterPause && Date.now() < deadline) {
        const metrics = await worker.metrics();
        const paused = metricValue(metrics, 'bioner_paused_partitions')!;
        maxSeen = Math.max(maxSeen, metricValue(metrics, 'bioner_inflight_documents')!);
        peakRss = Math.max(peakRss, metricValue(metrics, 'process_resident_memory_bytes')!);
        if (paused > 0) pausedSeen = true;
        else if (pausedSeen) resumedAfterPause = true;
        await sleep(100);
      }
      assert.ok(pausedSeen, 'the partition was paused');
      assert.ok(resumedAfterPause, 'and resumed');
      const metrics = await worker.metrics();
      assert.ok(metricValue(metrics, 'bioner_prompt_tokens_total')! > 0, 'prompt tokens counted');
      assert.ok(metricValue(metrics, 'bioner_generated_tokens_total')! > 0, 'generated tokens counted');
      assert.ok(maxSeen <= maxInFlight, `in-flight documents ${maxSeen} stayed within ${maxInFlight}`);
      // Bound: Node, one inference worker with the 39 MB test model, 4 documents, and the
      // prefill logits of one 8-sentence batch (8 x ~150 tokens x 151,936 vocab x 4 bytes).
      const bound = 2 * 1024 * 1024 * 1024;
      assert.ok(peakRss < bound, `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB under ${bound / 2 ** 20} MiB`);
      console.log(`backpressure: peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, max in flight ${maxSeen}`);
    } finally {
      await stopWorker(worker);
    }
  });
});
