// Graceful shutdown on a real broker: SIGTERM mid-stream publishes and commits what finished,
// exits 0, and leaves nothing duplicated for the partitions' next owner.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCorpus } from '../src/corpora/index.js';
import { decodeAnnotatedDocument } from '../src/domain/avro.js';
import type { Document } from '../src/domain/types.js';
import { avroBody } from '../src/domain/wire-format.js';
import {
  committedOffsets, framedDocument, freshTopics, metricValue, produce, readUntil, startWorker, suiteBrokers, type Received,
} from './support/kafka.js';
import { NCBI_SAMPLE_OR_TEST } from './support/paths.js';

const ORACLE = `oracle:${NCBI_SAMPLE_OR_TEST}`;
// Batches that close once a second with up to 30 documents in flight: SIGTERM lands with work in flight.
const SLOW = ['--model', ORACLE, '--query-batch-size', '1000', '--query-batch-wait-ms', '1000', '--max-in-flight', '30'];
const DRAIN_MS = 10_000;

let documents: Document[];
before(async () => {
  documents = (await readCorpus(NCBI_SAMPLE_OR_TEST, 'pubtator')).documents;
});

/** How many AnnotatedDocuments each document id has. */
function countsById(received: Received[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of received) {
    const id = decodeAnnotatedDocument(avroBody(r.value)).document.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('graceful shutdown on a real broker', () => {
  for (const delivery of ['at-least-once', 'exactly-once'] as const) {
    test(`${delivery}: SIGTERM mid-stream commits what finished, exits 0, and duplicates nothing`, async () => {
      const brokers = await suiteBrokers();
      const topics = await freshTopics(brokers, 2);
      await produce(brokers, topics.documents, documents.map((d) => ({ key: d.id, value: framedDocument(d) })));
      const inputs = await readUntil(brokers, topics.documents, (r) => r.length >= documents.length);
      const groupId = `shutdown-${topics.documents}`;
      const args = [...SLOW, '--group-id', groupId, '--delivery', delivery, '--instance-id', 'shutdown-test',
        '--shutdown-timeout-ms', String(DRAIN_MS)];
      const readCommitted = delivery === 'exactly-once';

      const first = await startWorker(brokers, topics, args);
      await readUntil(brokers, topics.annotated, (r) => r.length >= 15, { readCommitted });
      while (metricValue(await first.metrics(), 'bioner_inflight_documents')! < 10) await sleep(20);
      const signalledAt = Date.now();
      first.child.kill('SIGTERM');
      const code = await first.exited;
      const exitSeconds = (Date.now() - signalledAt) / 1000;
      assert.equal(code, 0, first.output());
      assert.ok(exitSeconds < DRAIN_MS / 1000 + 5, `exited in ${exitSeconds.toFixed(1)} s, within the grace period`);

      // Committed offsets and outputs agree: below the commit, each document once; above it, none.
      const committed = await committedOffsets(brokers, groupId, topics.documents);
      const published = countsById(await readUntil(brokers, topics.annotated, () => false, { timeoutMs: 4000, readCommitted }));
      let below = 0;
      for (const input of inputs) {
        const isCommitted = input.offset < (committed.get(input.partition) ?? -1n);
        if (isCommitted) below++;
        assert.equal(published.get(input.key) ?? 0, isCommitted ? 1 : 0,
          `${input.key} (partition ${input.partition}, offset ${input.offset}, committed ${committed.get(input.partition)})\n${first.output()}`);
      }
      assert.ok(below >= 15 && below < documents.length, `${below} of ${documents.length} committed at SIGTERM`);

      // The next owner picks up exactly where the commit left off.
      const second = await startWorker(brokers, topics, args);
      try {
        const all = countsById(await readUntil(brokers, topics.annotated, (r) => countsById(r).size >= documents.length,
          { timeoutMs: 120_000, readCommitted }));
        assert.deepEqual([...all.values()].filter((n) => n !== 1), [], 'every document once across both workers');
        second.child.kill('SIGTERM');
        assert.equal(await second.exited, 0, second.output());
      } finally {
        second.child.kill('SIGKILL');
      }
      console.log(`${delivery}: ${below} of ${documents.length} committed at SIGTERM, exit 0 after ${exitSeconds.toFixed(1)} s`);
    });
  }
});
