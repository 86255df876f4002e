// TLS and SASL against a real broker: a SASL_SSL listener (SCRAM-SHA-512) with a CA and
// certificates made at start time (scripts/kafka-broker.mjs, secure: true).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readCorpus } from '../../src/corpora/index.js';
import { decodeAnnotatedDocument } from '../../src/domain/avro.js';
import type { Document } from '../../src/domain/types.js';
import { avroBody } from '../../src/domain/wire-format.js';
import { framedDocument, freshTopics, produce, readUntil, startBroker, startWorker, stopWorker, type Broker } from '../support/kafka.js';
import { NCBI_SAMPLE_OR_TEST } from '../support/paths.js';

let broker: Broker;
let documents: Document[];

before(async () => {
  broker = await startBroker({ secure: true });
  documents = (await readCorpus(NCBI_SAMPLE_OR_TEST, 'pubtator')).documents.slice(0, 10);
});
after(() => broker?.stop());

const secureArgs = () => {
  const secure = broker.secure!;
  return ['--model', `oracle:${NCBI_SAMPLE_OR_TEST}`, '--kafka-ssl', 'on', '--kafka-ca-file', secure.caFile,
    '--kafka-sasl-mechanism', 'scram-sha-512', '--kafka-sasl-username', secure.username];
};

test('the worker reaches a SASL_SSL listener with the CA, a client certificate and SCRAM-SHA-512 credentials', async () => {
  const secure = broker.secure!;
  // Topics and documents over the plaintext listener; the worker only over SASL_SSL.
  const topics = await freshTopics(broker.bootstrap, 1);
  await produce(broker.bootstrap, topics.documents, documents.map((d) => ({ key: d.id, value: framedDocument(d) })));
  const worker = await startWorker(secure.bootstrap, topics,
    [...secureArgs(), '--kafka-cert-file', secure.clientCertFile, '--kafka-key-file', secure.clientKeyFile, '--group-id', `tls-${topics.documents}`],
    { BIONER_KAFKA_SASL_PASSWORD: secure.password });
  try {
    const annotated = await readUntil(broker.bootstrap, topics.annotated, (r) => r.length >= documents.length);
    assert.deepEqual(new Set(annotated.map((r) => decodeAnnotatedDocument(avroBody(r.value)).document.id)), new Set(documents.map((d) => d.id)));
    assert.equal(await stopWorker(worker), 0, worker.output());
  } finally {
    worker.child.kill('SIGKILL');
  }
});

test('a wrong password is refused with one clear line and a non-zero exit', async () => {
  const topics = await freshTopics(broker.bootstrap, 1);
  const started = Date.now();
  await assert.rejects(
    startWorker(broker.secure!.bootstrap, topics, [...secureArgs(), '--group-id', `tls-wrong-${topics.documents}`],
      { BIONER_KAFKA_SASL_PASSWORD: 'not-the-password' }),
    (error: Error) => {
      assert.match(error.message, /exited early \(1\)/);
      assert.match(error.message, /^bioner-stream run: error: SASL SCRAM SHA512 authentication failed/m);
      return true;
    },
  );
  console.log(`wrong password: exit 1 after ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
