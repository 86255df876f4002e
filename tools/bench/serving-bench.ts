// `bioner-stream bench-serving` (`npm run bench:serving [-- --documents N] [-- --model DIR]`):
// documents/s through a real broker with the model inside the worker, against workers that call one `bioner-stream serve` (the
// CPU-pod/GPU-pod split), all measured in one run on the same machine and the same documents.
// Every part is a real process: broker, worker(s), server.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { integer, parseCommandLine, text } from '../../src/cli/options.js';
import { readAnnotated } from '../../src/consumers/annotated-reader.js';
import { readCorpus } from '../../src/corpora/index.js';
import { documentType, toAvroDocument } from '../../src/domain/avro.js';
import type { Document } from '../../src/domain/types.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import type { Topics } from '../../src/domain/records.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';
import { projectPath } from '../../src/project.js';
import { freePort, startCliProcess, stopCliProcess, type CliProcess } from './cli-process.js';

const SHARED_ABSTRACTS = projectPath('..', 'shared', 'data', 'ncbi-disease', 'test.pubtator');
const BUNDLED_ABSTRACTS = projectPath('test', 'fixtures', 'ncbi-disease-sample.pubtator');

interface Setup {
  name: string;
  workers: number;
  /** Inference in the worker, or in one `serve` process shared by the workers. */
  remote: boolean;
}

const SETUPS: Setup[] = [
  { name: 'in-process', workers: 1, remote: false },
  { name: 'worker + serve', workers: 1, remote: true },
  { name: '2 workers + serve', workers: 2, remote: true },
];

/** What every setup runs against: the broker, the model and the inference threads. */
interface Bench {
  kafka: Kafka;
  bootstrap: string;
  model: string;
  inferenceThreads: string;
}

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream bench-serving [options]   (npm run bench:serving -- [options])',
  options: {
    documents: integer('NCBI-disease test abstracts to stream', 20),
    model: text('DIR', 'the model (default: the shipped default model)'),
    'inference-threads': integer('inference threads, in the worker or the server', Math.min(4, availableParallelism()), { shown: 'cores, at most 4' }),
  },
};

export async function servingBenchCommand(argv: string[]): Promise<void> {
  const { values: args } = parseCommandLine(argv, COMMAND_LINE);
  const inferenceThreads = String(args['inference-threads']);
  const input = existsSync(SHARED_ABSTRACTS) ? SHARED_ABSTRACTS : BUNDLED_ABSTRACTS;
  const documents = (await readCorpus(input, 'pubtator')).documents.slice(0, args.documents);
  const model = args.model ?? (await ensureDefaultModel());
  const { startBroker } = (await import(projectPath('scripts', 'kafka-broker.mjs'))) as {
    startBroker: (options: { port: number; dataDir: string }) => Promise<{ bootstrap: string; stop(): Promise<void> }>;
  };
  const dataDir = await mkdtemp(join(tmpdir(), 'bioner-bench-kafka-'));
  const broker = await startBroker({ port: await freePort(), dataDir });
  const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'bioner-bench', logLevel: logLevel.NOTHING });

  console.error(`serving bench: ${documents.length} documents from ${input}, model ${model}, ${inferenceThreads} inference threads, ` +
    `${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)}`);
  const rows: { setup: Setup; seconds: number; sentences: number; served?: { batches: number; queries: number } }[] = [];
  try {
    for (const setup of SETUPS) {
      const row = { setup, ...(await measure({ kafka, bootstrap: broker.bootstrap, model, inferenceThreads }, setup, documents)) };
      rows.push(row);
      console.error(`${setup.name}: ${row.seconds.toFixed(1)} s`);
    }
  } finally {
    await broker.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  const base = rows[0]!;
  // More queries served than sentences is work done twice (after a rebalance or a retry).
  console.log(`\n| setup | documents/s | sentences/s | × in-process | server batch (mean) | queries served / sentences |`);
  console.log(`|---|--:|--:|--:|--:|--:|`);
  for (const { setup, seconds, sentences, served } of rows) {
    const batch = served ? (served.queries / Math.max(1, served.batches)).toFixed(1) : '';
    console.log(`| ${setup.name} | ${(documents.length / seconds).toFixed(2)} | ${(sentences / seconds).toFixed(1)} | ` +
      `${(base.seconds / seconds).toFixed(2)} | ${batch} | ${served ? `${served.queries} / ${sentences}` : ''} |`);
  }
}

/** Seconds from producing the documents to the last AnnotatedDocument, with the workers (and server) ready. */
async function measure({ kafka, bootstrap, model, inferenceThreads }: Bench, setup: Setup, docs: Document[]) {
  const id = setup.name.replace(/\W+/g, '-');
  const topics: Topics = {
    documents: `bench.${id}.documents`, entities: `bench.${id}.entities`,
    annotated: `bench.${id}.annotated`, deadLetters: `bench.${id}.dlq`,
  };
  await ensureTopics(kafka, topics, Math.max(2, setup.workers));
  const processes: CliProcess[] = [];
  try {
    let workerModel = model;
    const workerArgs = ['--inference-threads', inferenceThreads];
    if (setup.remote) {
      const port = await freePort();
      processes.push(await startCliProcess(['serve', '--model', model, '--host', '127.0.0.1', '--port', String(port),
        '--inference-threads', inferenceThreads], port));
      workerModel = `remote:http://127.0.0.1:${port}`;
      // A remote batch waits on the server, not on local cores: keep more of them in flight.
      workerArgs.splice(0, 2, '--query-batches-in-flight', '8');
    }
    for (let w = 0; w < setup.workers; w++) {
      const port = await freePort();
      processes.push(await startCliProcess(['run', '--brokers', bootstrap, '--group-id', `bench-${id}`,
        '--input-topic', topics.documents, '--entities-topic', topics.entities, '--annotated-topic', topics.annotated,
        '--dlq-topic', topics.deadLetters, '--metrics-port', String(port), '--model', workerModel, '--types', 'disease',
        '--instance-id', `bench-${w}`, ...workerArgs], port));
    }
    // Everything is loaded and in its group: the clock measures the stream alone.
    const reading = readAnnotated(kafka, topics.annotated, docs.length);
    const started = performance.now();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.documents, messages: docs.map((d) => ({ key: d.id, value: documentType.toBuffer(toAvroDocument(d)) })) });
    await producer.disconnect();
    const annotated = await reading;
    const seconds = (performance.now() - started) / 1000;
    const sentences = annotated.reduce((n, a) => n + a.sentence_count, 0);
    if (!setup.remote) return { seconds, sentences };
    const served = parsePrometheusText(await processes[0]!.metrics());
    const batches = sampleValue(served, 'bioner_server_batch_size_count', { endpoint: 'answers' }) ?? 0;
    const queries = sampleValue(served, 'bioner_server_batch_size_sum', { endpoint: 'answers' }) ?? 0;
    return { seconds, sentences, served: { batches, queries } };
  } finally {
    for (const process of processes.reverse()) await stopCliProcess(process);
  }
}
