// `bioner-stream demo` (`npm run demo`): the whole streaming job on embedded defaults. Starts a
// real Kafka broker, creates the topics, runs a worker with the default model, produces PubMed
// abstracts, reads the outputs back, prints a summary, and stops everything.
import { existsSync } from 'node:fs';
import { integer, parseCommandLine, text } from '../../src/cli/options.js';
import { workerConfig } from '../../src/cli/run-command.js';
import { readAnnotated } from '../../src/consumers/annotated-reader.js';
import { StreamWorker, type WorkerConfig } from '../../src/consumers/stream-worker.js';
import { readCorpus } from '../../src/corpora/index.js';
import { documentType, toAvroDocument } from '../../src/domain/avro.js';
import type { AnnotatedDocument, Document } from '../../src/domain/types.js';
import { createKafka } from '../../src/kafka/connection.js';
import { DEFAULT_TOPICS, ensureTopics } from '../../src/kafka/topics.js';
import type { WorkerMetrics } from '../../src/observability/metrics.js';
import { projectPath } from '../../src/project.js';
import { splitSentences } from '../../src/stages/split-sentences.js';
import { histogramQuantile, sampleValue, type Sample } from '../bench/prometheus-text.js';
import { ensureDefaultModel } from '../default-model/default-model.js';

const SHARED_ABSTRACTS = projectPath('..', 'shared', 'data', 'ncbi-disease', 'test.pubtator');
const BUNDLED_ABSTRACTS = projectPath('test', 'fixtures', 'ncbi-disease-sample.pubtator');

interface Broker {
  bootstrap: string;
  stop(): Promise<void>;
}

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream demo [options]   (npm run demo -- [options])',
  options: {
    documents: integer('NCBI-disease test abstracts to stream', 10),
    model: text('DIR', 'the model (default: the shipped default model)'),
  },
};

export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandLine(argv, COMMAND_LINE);
  const count = values.documents;
  const input = existsSync(SHARED_ABSTRACTS) ? SHARED_ABSTRACTS : BUNDLED_ABSTRACTS;
  const documents = (await readCorpus(input, 'pubtator')).documents.slice(0, count);
  const model = values.model ?? (await ensureDefaultModel());

  step(`starting a Kafka broker`);
  const { startBroker } = (await import(projectPath('scripts', 'kafka-broker.mjs'))) as {
    startBroker: () => Promise<Broker>;
  };
  const broker = await startBroker();
  let worker: StreamWorker | undefined;
  try {
    const kafka = createKafka({ brokers: [broker.bootstrap], clientId: 'bioner-demo' });
    step(`creating topics on ${broker.bootstrap}: ${Object.values(DEFAULT_TOPICS).join(', ')}`);
    await ensureTopics(kafka, DEFAULT_TOPICS, 3);

    step(`starting a worker with model ${model}`);
    worker = await StreamWorker.start(demoWorkerConfig(broker.bootstrap, model), (error) => {
      console.error(`worker failed: ${(error as Error).message}`);
      process.exitCode = 1;
    });

    step(`producing ${documents.length} PubMed abstracts from ${input}`);
    const started = Date.now();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: DEFAULT_TOPICS.documents,
      messages: documents.map((d) => ({ key: d.id, value: documentType.toBuffer(toAvroDocument(d)) })),
    });
    await producer.disconnect();

    step('reading the annotated documents back');
    const annotated = await readAnnotated(kafka, DEFAULT_TOPICS.annotated, documents.length,
      (n) => process.stderr.write(`\r  ${n}/${documents.length} documents annotated${n === documents.length ? '\n' : ''}`));
    const seconds = (Date.now() - started) / 1000;
    printSummary(annotated, seconds, await latencySamples(worker.metrics));
  } finally {
    step('stopping the worker and the broker');
    await worker?.stop(10_000);
    await broker.stop();
  }
}

/** `bioner-stream run`'s defaults, with the demo's broker, model and names. */
function demoWorkerConfig(bootstrap: string, model: string): WorkerConfig {
  return workerConfig(['--brokers', bootstrap, '--model', model, '--client-id', 'bioner-demo-worker', '--group-id', 'bioner-demo',
    '--instance-id', 'demo', '--metrics-port', '0', '--shutdown-timeout-ms', '10000'], {});
}

/** The worker's latency histograms, read from prom-client as samples. */
async function latencySamples(metrics: WorkerMetrics): Promise<Sample[]> {
  const histograms = await Promise.all([metrics.endToEndSeconds.get(), metrics.inferenceSeconds.get()]);
  return histograms.flatMap((h) => h.values.map((v) => ({ name: v.metricName ?? h.name, labels: v.labels as Record<string, string>, value: v.value })));
}

function printSummary(annotated: AnnotatedDocument[], seconds: number, metrics: Sample[]): void {
  const entities = annotated.flatMap((a) => a.entities);
  const byType = new Map<string, number>();
  for (const e of entities) byType.set(e.type, (byType.get(e.type) ?? 0) + 1);
  const sentences = annotated.reduce((n, a) => n + a.sentence_count, 0);
  const ms = (s: number | undefined) => (s === undefined ? '-' : `${(s * 1000).toFixed(0)} ms`);

  console.log('\n=== bioner-stream demo ===');
  console.log(`documents   ${annotated.length} (${sentences} sentences)`);
  console.log(`entities    ${entities.length}: ${[...byType].map(([t, n]) => `${t} ${n}`).join(', ') || 'none'}`);
  console.log(`dropped     ${annotated.reduce((n, a) => n + a.ungrounded_count, 0)} ungrounded answer strings, ` +
    `${annotated.reduce((n, a) => n + a.invalid_answer_count, 0)} malformed answers`);
  console.log(`throughput  ${(annotated.length / seconds).toFixed(2)} documents/s, ${(sentences / seconds).toFixed(1)} sentences/s (wall clock, ${seconds.toFixed(1)} s)`);
  console.log(`latency     end to end p50 ${ms(histogramQuantile(metrics, 'bioner_end_to_end_latency_seconds', 0.5))}, ` +
    `p95 ${ms(histogramQuantile(metrics, 'bioner_end_to_end_latency_seconds', 0.95))}; ` +
    `inference batch p50 ${ms(histogramQuantile(metrics, 'bioner_inference_duration_seconds', 0.5))} ` +
    `over ${sampleValue(metrics, 'bioner_inference_duration_seconds_count') ?? 0} batches (from the metrics)`);
  console.log('\nannotated sentences ([[entity]]):');
  for (const line of markedSentences(annotated, 5)) console.log(`  ${line}`);
}

/** Up to `limit` sentences that have entities, with each entity marked in place. */
function markedSentences(annotated: AnnotatedDocument[], limit: number): string[] {
  const lines: string[] = [];
  for (const { document, entities } of annotated) {
    for (const sentence of splitSentences(document as Document)) {
      const inside = entities.filter((e) => e.sentence_index === sentence.index);
      if (inside.length === 0) continue;
      let text = '';
      let at = sentence.start;
      for (const e of inside) {
        if (e.start < at) continue; // nested in the previous mark
        text += document.text.slice(at, e.start) + `[[${e.text}]]`;
        at = e.end;
      }
      lines.push(`${document.id}: ${text}${document.text.slice(at, sentence.end)}`);
      if (lines.length >= limit) return lines;
    }
  }
  return lines;
}

function step(message: string): void {
  console.error(`demo: ${message}`);
}
