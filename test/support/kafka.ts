// Helpers for the tests that talk to a real Kafka broker: the suite's broker (started by
// scripts/run-tests.mjs) or one of a test's own, a worker process, producers and readers.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';
import { documentType, toAvroDocument } from '../../src/domain/avro.js';
import type { Document } from '../../src/domain/types.js';
import type { Topics } from '../../src/domain/records.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { parsePrometheusText, sampleValue } from '../../tools/bench/prometheus-text.js';
import { projectPath } from '../../src/project.js';
import { freePort, startCliProcess, stopCliProcess, type CliProcess } from '../../tools/bench/cli-process.js';

export interface Broker {
  bootstrap: string;
  port: number;
  dataDir: string;
  /** Set when started with `secure: true`: the SASL_SSL (SCRAM-SHA-512) listener and its throwaway CA. */
  secure?: { bootstrap: string; caFile: string; clientCertFile: string; clientKeyFile: string; username: string; password: string };
  stop(options?: { keepData?: boolean }): Promise<void>;
}

const brokerScript: string = projectPath('scripts', 'kafka-broker.mjs');

export async function startBroker(options: { port?: number; dataDir?: string; secure?: boolean } = {}): Promise<Broker> {
  const { startBroker: start } = await import(brokerScript);
  return start(options);
}

let ownBroker: Promise<Broker> | undefined;

/** The suite's broker; a test file run on its own starts one for itself. */
export async function suiteBrokers(): Promise<string> {
  if (process.env.BIONER_TEST_BROKERS) return process.env.BIONER_TEST_BROKERS;
  ownBroker ??= startBroker();
  const broker = await ownBroker;
  process.once('beforeExit', () => void broker.stop());
  return broker.bootstrap;
}

export const kafkaClient = (brokers: string) =>
  new Kafka({ brokers: [brokers], clientId: 'bioner-test', logLevel: logLevel.NOTHING, retry: { retries: 10 } });

/** Fresh topics for one test, so tests never see each other's records. */
export async function freshTopics(brokers: string, partitions: number): Promise<Topics> {
  const id = randomUUID().slice(0, 8);
  const topics: Topics = {
    documents: `test-${id}.documents`,
    entities: `test-${id}.entities`,
    annotated: `test-${id}.annotated`,
    deadLetters: `test-${id}.dlq`,
  };
  await ensureTopics(kafkaClient(brokers), topics, partitions);
  return topics;
}

/** A Document in the Confluent wire format with the fixed Document schema id (1). */
export function framedDocument(document: Document): Buffer {
  const header = Buffer.from([0, 0, 0, 0, 1]);
  return Buffer.concat([header, documentType.toBuffer(toAvroDocument(document))]);
}

export async function produce(brokers: string, topic: string, messages: { key: string; value: Buffer | null }[]): Promise<void> {
  const producer = kafkaClient(brokers).producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

export interface Received {
  key: string;
  value: Buffer;
  headers: IHeaders;
  partition: number;
  offset: bigint;
}

/** Reads a topic from the beginning until `done` holds or the timeout passes. */
export async function readUntil(
  brokers: string,
  topic: string,
  done: (received: Received[]) => boolean,
  options: { timeoutMs?: number; readCommitted?: boolean } = {},
): Promise<Received[]> {
  const consumer = kafkaClient(brokers).consumer({
    groupId: `reader-${randomUUID()}`,
    readUncommitted: !options.readCommitted,
  });
  const received: Received[] = [];
  // A rebalance of the reader's own group re-delivers what it read since its last commit: keep
  // each (partition, offset) once, so counts are the topic's and not the reader's.
  const seen = new Set<string>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let resolveDone!: () => void;
  const finished = new Promise<void>((resolve) => (resolveDone = resolve));
  await consumer.run({
    eachMessage: async ({ message, partition }: { message: KafkaMessage; partition: number }) => {
      if (seen.has(`${partition}:${message.offset}`)) return;
      seen.add(`${partition}:${message.offset}`);
      received.push({
        key: message.key?.toString() ?? '', value: message.value ?? Buffer.alloc(0), headers: message.headers ?? {},
        partition, offset: BigInt(message.offset),
      });
      if (done(received)) resolveDone();
    },
  });
  const timeout = setTimeout(resolveDone, options.timeoutMs ?? 60_000);
  await finished;
  clearTimeout(timeout);
  await consumer.disconnect();
  return received;
}

/** The group's committed offset (the next record to consume) by partition; -1 where none. */
export async function committedOffsets(brokers: string, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const [topicOffsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(topicOffsets!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

export { freePort };

export type WorkerProcess = CliProcess;

/** Starts `bioner-stream run` as a real process and waits until /readyz says it is ready. */
export async function startWorker(brokers: string, topics: Topics, args: string[], env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  const port = await freePort();
  return startCliProcess(['run', '--brokers', brokers,
    '--input-topic', topics.documents, '--entities-topic', topics.entities,
    '--annotated-topic', topics.annotated, '--dlq-topic', topics.deadLetters,
    '--metrics-port', String(port), '--session-timeout-ms', '10000', ...args], port, env);
}

export const stopWorker = stopCliProcess;

/** One sample's value from /metrics, by name and exact label set; the text must parse. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return sampleValue(parsePrometheusText(text), name, labels);
}
