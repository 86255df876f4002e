// A schema registry outage mid-stream, on a real broker and a real registry: documents wait,
// the stall shows on /readyz and in the metrics, nothing is dead-lettered, and everything is
// published once the registry is back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import avro from 'avsc';
import { readCorpus } from '../../src/corpora/index.js';
import { decodeAnnotatedDocument, documentType, toAvroDocument } from '../../src/domain/avro.js';
import type { Document } from '../../src/domain/types.js';
import { avroBody } from '../../src/domain/wire-format.js';
import { freshTopics, metricValue, produce, readUntil, startWorker, stopWorker, suiteBrokers, type Received } from '../support/kafka.js';
import { NCBI_SAMPLE_OR_TEST } from '../support/paths.js';
import { framedWithId, registerSchema, startRegistry } from '../support/schema-registry.js';

const OUTAGE_MS = 8000;

const ids = (received: Received[]) => new Set(received.map((r) => decodeAnnotatedDocument(avroBody(r.value)).document.id));

test('registry stopped mid-stream and started again: documents wait, none is dead-lettered, all are published', async () => {
  const documents: Document[] = (await readCorpus(NCBI_SAMPLE_OR_TEST, 'pubtator')).documents.slice(0, 40);
  const [before, during] = [documents.slice(0, 20), documents.slice(20)];
  const brokers = await suiteBrokers();
  const topics = await freshTopics(brokers, 1);
  let registry = await startRegistry();
  try {
    // Another producer writes the second half with an evolved schema the worker has not seen.
    const evolvedSchema = JSON.parse(JSON.stringify(documentType.schema())) as { fields: unknown[] };
    evolvedSchema.fields.push({ name: 'journal', type: ['null', 'string'], default: null });
    const evolved = avro.Type.forSchema(evolvedSchema as avro.Schema);
    const subject = `${topics.documents}-value`;
    const currentId = await registerSchema(registry.url, subject, documentType.schema() as avro.Schema);
    const evolvedId = await registerSchema(registry.url, subject, evolvedSchema as avro.Schema);
    await produce(brokers, topics.documents, before.map((d) => ({ key: d.id, value: framedWithId(currentId, documentType, toAvroDocument(d)) })));

    const worker = await startWorker(brokers, topics, ['--model', `oracle:${NCBI_SAMPLE_OR_TEST}`, '--group-id', `outage-${topics.documents}`,
      '--schema-registry-url', registry.url, '--schema-registry-timeout-ms', '1000', '--stall-timeout-ms', '2000']);
    try {
      await readUntil(brokers, topics.annotated, (r) => ids(r).size >= before.length);
      await registry.stop({ keepData: true });
      const outageStarted = Date.now();
      await produce(brokers, topics.documents, during.map((d) => ({ key: d.id, value: framedWithId(evolvedId, evolved, { ...toAvroDocument(d), journal: null }) })));

      // Stalled, and saying so.
      let readyDuringOutage = true;
      while (Date.now() - outageStarted < OUTAGE_MS) {
        if (!(await fetch(`${worker.url}/readyz`)).ok) readyDuringOutage = false;
        await sleep(250);
      }
      const metrics = await worker.metrics();
      assert.equal(readyDuringOutage, false, '/readyz failed while the partition was stalled');
      assert.ok(metricValue(metrics, 'bioner_partition_stall_seconds', { partition: '0' })! >= 2, 'the stall is in the metrics');
      assert.ok(metricValue(metrics, 'bioner_schema_registry_unavailable_total')! > 0, 'the waits are counted');

      registry = await startRegistry({ port: registry.port, dataDir: registry.dataDir });
      const annotated = await readUntil(brokers, topics.annotated, (r) => ids(r).size >= documents.length, { timeoutMs: 120_000 });
      assert.deepEqual(ids(annotated), new Set(documents.map((d) => d.id)), worker.output());
      assert.equal(annotated.length, documents.length, 'each document once');
      const dead = await readUntil(brokers, topics.deadLetters, () => false, { timeoutMs: 3000 });
      assert.equal(dead.length, 0, 'nothing dead-lettered');
      const deadline = Date.now() + 10_000;
      while (!(await fetch(`${worker.url}/readyz`)).ok && Date.now() < deadline) await sleep(250);
      assert.ok((await fetch(`${worker.url}/readyz`)).ok, 'ready again once the partition commits');
      assert.equal(await stopWorker(worker), 0, worker.output());
    } finally {
      worker.child.kill('SIGKILL');
    }
  } finally {
    await registry.stop();
  }
});
