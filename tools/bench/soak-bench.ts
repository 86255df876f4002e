// `bioner-stream bench-soak` (`npm run bench:soak [-- --documents N]`): a long at-least-once run
// through a real broker with the oracle model (the streaming path, not the model, under test).
// Two workers share the group; at 30% one is SIGKILLed and a replacement started, at 60% the
// broker restarts. Reports documents/s, the surviving worker's RSS over time (growth after
// warm-up), lost documents, duplicates and dead letters, and fails if any were lost, dead-lettered
// or RSS grew 10% or more. Not a test: docs/performance.md gives its figures.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { integer, parseCommandLine } from '../../src/cli/options.js';
import { readCorpus } from '../../src/corpora/index.js';
import { decodeAnnotatedDocument, documentType, toAvroDocument } from '../../src/domain/avro.js';
import type { Topics } from '../../src/domain/records.js';
import { FixedSchemaRegistry } from '../../src/domain/schema-registry.js';
import { avroBody, encodeFramed } from '../../src/domain/wire-format.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { projectPath } from '../../src/project.js';
import { freePort, startCliProcess, type CliProcess } from './cli-process.js';
import { percentile } from './measure.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';

const GOLD = projectPath('test', 'fixtures', 'ncbi-disease-sample.pubtator');
const TOPICS: Topics = { documents: 'soak.documents', entities: 'soak.entities', annotated: 'soak.annotated', deadLetters: 'soak.dlq' };

interface Broker { bootstrap: string; port: number; dataDir: string; stop(options?: { keepData?: boolean }): Promise<void> }
type StartBroker = (options: { port?: number; dataDir?: string }) => Promise<Broker>;

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream bench-soak [options]   (npm run bench:soak -- [options])',
  options: {
    documents: integer('small documents to stream', 100_000),
  },
};

export async function soakBenchCommand(argv: string[]): Promise<void> {
  const { values: { documents: total } } = parseCommandLine(argv, COMMAND_LINE);
  const { startBroker } = (await import(projectPath('scripts', 'kafka-broker.mjs'))) as { startBroker: StartBroker };
  const dataDir = await mkdtemp(join(tmpdir(), 'bioner-soak-kafka-'));
  let broker = await startBroker({ port: await freePort(), dataDir });
  const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'bioner-soak', logLevel: logLevel.NOTHING, retry: { retries: 20 } });
  await ensureTopics(kafka, TOPICS, 4);

  // Small documents: the titles of the sample abstracts, each under an id of its own.
  const titles = (await readCorpus(GOLD, 'pubtator')).documents.map((d) => d.title ?? d.text.slice(0, 120));
  const registry = new FixedSchemaRegistry();
  const producer = kafka.producer();
  await producer.connect();
  for (let start = 0; start < total; start += 5000) {
    const messages = [];
    for (let i = start; i < Math.min(total, start + 5000); i++) {
      const document = toAvroDocument({ id: `soak-${i}`, source: 'pubmed', text: titles[i % titles.length]! });
      messages.push({ key: `soak-${i}`, value: await encodeFramed(registry, 'Document', TOPICS.documents, documentType, document) });
    }
    await producer.send({ topic: TOPICS.documents, messages, acks: -1 });
  }
  await producer.disconnect();
  console.error(`soak: ${total} documents on ${TOPICS.documents}, ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)}`);

  const startWorker = async (name: string): Promise<CliProcess> => {
    const port = await freePort();
    return startCliProcess(['run', '--brokers', broker.bootstrap, '--group-id', 'soak', '--model', `oracle:${GOLD}`,
      '--input-topic', TOPICS.documents, '--entities-topic', TOPICS.entities, '--annotated-topic', TOPICS.annotated,
      '--dlq-topic', TOPICS.deadLetters, '--metrics-port', String(port), '--instance-id', name, '--session-timeout-ms', '10000'], port);
  };

  // The subscriber: every AnnotatedDocument, each (partition, offset) once.
  const seen = new Map<string, number>();
  const offsets = new Set<string>();
  const reader = kafka.consumer({ groupId: `soak-reader-${Date.now()}` });
  await reader.connect();
  await reader.subscribe({ topic: TOPICS.annotated, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ partition, message }) => {
      if (offsets.has(`${partition}:${message.offset}`)) return;
      offsets.add(`${partition}:${message.offset}`);
      const id = decodeAnnotatedDocument(avroBody(message.value!)).document.id;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    },
  });

  const started = Date.now();
  const victim = await startWorker('soak-a');
  const survivor = await startWorker('soak-b');
  const workers = [victim, survivor];
  const rss: { at: number; done: number; mib: number }[] = [];
  let killed = false;
  let restarted = false;
  const deadline = started + 60 * 60_000;
  while (seen.size < total && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    const text = await survivor.metrics().catch(() => undefined);
    const bytes = text && sampleValue(parsePrometheusText(text), 'process_resident_memory_bytes', {});
    if (bytes) rss.push({ at: (Date.now() - started) / 1000, done: seen.size, mib: bytes / 2 ** 20 });
    if (!killed && seen.size >= 0.3 * total) {
      killed = true;
      victim.child.kill('SIGKILL');
      await victim.exited;
      workers.push(await startWorker('soak-c'));
      console.error(`soak: SIGKILLed a worker at ${seen.size} documents, started a replacement`);
    }
    if (!restarted && seen.size >= 0.6 * total) {
      restarted = true;
      const { port } = broker;
      await broker.stop({ keepData: true });
      await new Promise((r) => setTimeout(r, 3000));
      broker = await startBroker({ port, dataDir });
      console.error(`soak: restarted the broker at ${seen.size} documents`);
    }
  }
  const seconds = (Date.now() - started) / 1000;

  const dead = await countMessages(kafka, TOPICS.deadLetters);
  for (const worker of workers) worker.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  await reader.disconnect();
  await broker.stop();
  await rm(dataDir, { recursive: true, force: true });

  // Warm-up: the first 20% of documents; growth compares the median RSS of the last fifth of the
  // samples with the median of the samples right after warm-up.
  const afterWarmup = rss.filter((s) => s.done >= 0.2 * total);
  const fifth = Math.max(1, Math.floor(afterWarmup.length / 5));
  const early = percentile(afterWarmup.slice(0, fifth).map((s) => s.mib), 0.5);
  const late = percentile(afterWarmup.slice(-fifth).map((s) => s.mib), 0.5);
  const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
  const report = {
    documents: total, seconds: Number(seconds.toFixed(1)), documents_per_s: Number((seen.size / seconds).toFixed(1)),
    lost: total - seen.size, duplicates, dead_letters: dead,
    rss_mib: { after_warmup: Number(early.toFixed(1)), end: Number(late.toFixed(1)), growth: Number((late / early - 1).toFixed(3)),
      samples: rss.length, max: Number(Math.max(...rss.map((s) => s.mib)).toFixed(1)) },
    rss_growth_under_10_percent: late / early - 1 < 0.1,
  };
  console.log(JSON.stringify(report, null, 2));
  if (report.lost > 0 || dead > 0 || !report.rss_growth_under_10_percent) {
    throw new Error(`${report.lost} lost, ${dead} dead letters, RSS growth ${report.rss_mib.growth} (at most 0.1)`);
  }
}

async function countMessages(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const partitions = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return partitions.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}
