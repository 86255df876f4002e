// Manual smoke test for scripts/kafka-broker.mjs (not part of `npm test`):
//   node test/kafka-broker.smoke.mjs           # reuses the cached jars
//   node test/kafka-broker.smoke.mjs --fresh   # drops .cache/kafka/lib first to time the Maven resolve
// Starts a broker, produces, consumes with a group, commits a transaction with sendOffsets,
// restarts the broker on the same port and data dir, and checks that everything survived.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { ensureKafkaJars, startBroker } from '../scripts/kafka-broker.mjs';

const { Kafka, logLevel, Partitioners } = kafkajs;
const TOPIC = 'smoke-in';
const TX_TOPIC = 'smoke-out';
const GROUP = 'smoke-group';
const TX_GROUP = 'smoke-tx-group';

const timings = {};
async function timed(label, fn) {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[label] = `${((performance.now() - t0) / 1000).toFixed(2)} s`;
  }
}

function rssMiB(pid) {
  const kb = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)[1]);
  return `${(kb / 1024).toFixed(0)} MiB`;
}

/** Reads `count` messages of `topic` from the beginning with a fresh consumer group. */
async function consume(kafka, topic, groupId, count) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const values = [];
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got ${values.length}/${count} messages of ${topic}`)), 30_000);
      consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value.toString());
          if (values.length === count) { clearTimeout(timer); resolve(); }
        },
      }).catch(reject);
    });
    return values;
  } finally {
    await consumer.disconnect();
  }
}

async function committedOffset(admin, groupId, topic) {
  const [{ partitions }] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return partitions.find((p) => p.partition === 0).offset;
}

// The broker writes the commit markers after EndTxn has returned, and kafkajs' OffsetFetch
// does not ask for stable offsets, so transactional offsets show up a moment after commit().
async function eventualOffset(admin, groupId, topic, expected) {
  const deadline = Date.now() + 10_000;
  let offset;
  while ((offset = await committedOffset(admin, groupId, topic)) !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return offset;
}

async function withClient(bootstrap, fn) {
  const kafka = new Kafka({ clientId: 'smoke', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(kafka, admin);
  } finally {
    await admin.disconnect();
  }
}

if (process.argv.includes('--fresh')) {
  rmSync(fileURLToPath(new URL('../.cache/kafka/lib', import.meta.url)), { recursive: true, force: true });
}
await timed('jars: ensureKafkaJars (1st call)', ensureKafkaJars);
await timed('jars: ensureKafkaJars (cached)', ensureKafkaJars);

let broker = await timed('broker: start to ready (fresh data dir)', () => startBroker());
const { port, dataDir } = broker;
console.log(`broker ${broker.bootstrap} pid ${broker.pid} data ${dataDir}`);
try {
  await withClient(broker.bootstrap, (kafka, admin) => timed('workload', async () => {
    await admin.createTopics({ topics: [{ topic: TOPIC }, { topic: TX_TOPIC }], waitForLeaders: true });

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: TOPIC, messages: ['m1', 'm2', 'm3'].map((value) => ({ value })) });
    await producer.disconnect();

    assert.deepEqual(await consume(kafka, TOPIC, GROUP, 3), ['m1', 'm2', 'm3']);
    assert.equal(await committedOffset(admin, GROUP, TOPIC), '3');

    const txProducer = kafka.producer({
      transactionalId: 'smoke-tx', idempotent: true, maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await txProducer.connect();
    const tx = await txProducer.transaction();
    await tx.send({ topic: TX_TOPIC, messages: [{ value: 'tx1' }] });
    await tx.sendOffsets({ consumerGroupId: TX_GROUP, topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '3' }] }] });
    await tx.commit();
    await txProducer.disconnect();
    assert.equal(await timed('tx: offsets visible after commit', () => eventualOffset(admin, TX_GROUP, TOPIC, '3')), '3');
  }));
  timings['broker: RSS after workload'] = rssMiB(broker.pid);

  await timed('broker: stop (keep data)', () => broker.stop({ keepData: true }));
  broker = await timed('broker: restart to ready (same port + data dir)', () => startBroker({ port, dataDir }));
  assert.equal(broker.port, port);

  await withClient(broker.bootstrap, async (kafka, admin) => {
    assert.deepEqual(await consume(kafka, TOPIC, 'smoke-after-restart', 3), ['m1', 'm2', 'm3']);
    assert.deepEqual(await consume(kafka, TX_TOPIC, 'smoke-tx-after-restart', 1), ['tx1']);
    assert.equal(await committedOffset(admin, GROUP, TOPIC), '3');
    assert.equal(await committedOffset(admin, TX_GROUP, TOPIC), '3');
  });
} finally {
  await timed('broker: stop (remove data)', () => broker.stop());
}
assert.ok(!existsSync(dataDir), 'data dir removed');
assert.throws(() => process.kill(broker.pid, 0), 'java process gone');

console.table(timings);
console.log('kafka-broker smoke: OK');
