// `produce`, `tail` and `run --create-topics` as real processes, on a real broker and a real
// Schema Registry (Apicurio), with the worker on the oracle backend.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readCorpus } from '../src/corpora/index.js';
import { DEAD_LETTER_HEADERS } from '../src/domain/dead-letter.js';
import type { Topics } from '../src/domain/records.js';
import { createSchemaRegistry } from '../src/domain/schema-registry.js';
import type { AnnotatedDocument, Document, EntityRecord } from '../src/domain/types.js';
import { decodeDocumentBytes } from '../src/domain/wire-format.js';
import { freshTopics, kafkaClient, produce, readUntil, startWorker, stopWorker, suiteBrokers, type WorkerProcess } from './support/kafka.js';
import { CLI, NCBI_SAMPLE_OR_TEST } from './support/paths.js';
import { startRegistry, type Registry } from './support/schema-registry.js';

const ORACLE = `oracle:${NCBI_SAMPLE_OR_TEST}`;
const COUNT = 5;
let brokers: string;
let registry: Registry;
let documents: Document[];

before(async () => {
  [brokers, registry] = await Promise.all([suiteBrokers(), startRegistry()]);
  documents = (await readCorpus(NCBI_SAMPLE_OR_TEST, 'pubtator')).documents.slice(0, COUNT);
});
after(() => registry?.stop());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `bioner-stream ARGS` to its end (killed after two minutes, so a hung command fails the test). */
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

const outputFlags = (topics: Topics) => ['--brokers', brokers, '--entities-topic', topics.entities,
  '--annotated-topic', topics.annotated, '--dlq-topic', topics.deadLetters];
const jsonLines = (stdout: string) => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
const recordKey = (r: EntityRecord) => JSON.stringify([r.entity_id, r.doc_id, r.start, r.end, r.text, r.type]);

/** What `annotate` gives for the same documents: the entities the worker must publish. */
async function annotatedByCli(): Promise<EntityRecord[]> {
  const out = join(await mkdtemp(join(tmpdir(), 'bioner-commands-')), 'expected.jsonl');
  const run = await cli(['annotate', '--input', NCBI_SAMPLE_OR_TEST, '--input-format', 'pubtator', '--documents', String(COUNT),
    '--model', ORACLE, '--types', 'disease', '--output', out]);
  assert.equal(run.code, 0, run.stderr);
  return jsonLines(await readFile(out, 'utf8'));
}

describe('produce, run and tail on a real broker and schema registry', () => {
  let topics: Topics;
  let worker: WorkerProcess;
  const garbage = Buffer.from('this is not avro \u0001\u0002');

  before(async () => {
    topics = await freshTopics(brokers, 1);
  });
  after(() => worker && stopWorker(worker));

  test('produce puts the corpus on the input topic: keyed by id, framed with the registry\'s schema id', async () => {
    const run = await cli(['produce', '--input', NCBI_SAMPLE_OR_TEST, '--input-format', 'pubtator', '--documents', String(COUNT),
      '--brokers', brokers, '--input-topic', topics.documents, '--schema-registry-url', registry.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`produced ${COUNT} documents to ${topics.documents}`));
    const input = await readUntil(brokers, topics.documents, (r) => r.length >= COUNT);
    assert.deepEqual(input.map((r) => r.key), documents.map((d) => d.id), 'in corpus order, keyed by document id');
    const fromRegistry = createSchemaRegistry({ url: registry.url, timeoutMs: 10_000 });
    assert.deepEqual(await Promise.all(input.map((r) => decodeDocumentBytes(fromRegistry, r.value))), documents);
  });

  test('tail --topic entities --max N prints the N entities run published, as annotate writes them', async () => {
    await produce(brokers, topics.documents, [{ key: 'garbage', value: garbage }]);
    worker = await startWorker(brokers, topics, ['--model', ORACLE, '--group-id', `commands-${topics.documents}`,
      '--schema-registry-url', registry.url]);
    const expected = await annotatedByCli();
    assert.ok(expected.length > 0);
    const run = await cli(['tail', '--topic', 'entities', '--from-beginning', '--max', String(expected.length), ...outputFlags(topics),
      '--schema-registry-url', registry.url]);
    assert.equal(run.code, 0, `${run.stderr}\n--- worker ---\n${worker.output()}`);
    const tailed: EntityRecord[] = jsonLines(run.stdout);
    assert.equal(tailed.length, expected.length);
    assert.deepEqual(new Set(tailed.map(recordKey)), new Set(expected.map(recordKey)));
    assert.equal(run.stderr, '');
  });

  test('tail --topic dlq shows a malformed message with its reason header and its bytes', async () => {
    const run = await cli(['tail', '--topic', 'dlq', '--from-beginning', '--max', '1', ...outputFlags(topics)]);
    assert.equal(run.code, 0, run.stderr);
    const [letter, ...more] = jsonLines(run.stdout);
    assert.equal(more.length, 0);
    assert.equal(letter.key, 'garbage');
    assert.equal(letter.headers[DEAD_LETTER_HEADERS.reason], 'undecodable');
    assert.equal(letter.headers[DEAD_LETTER_HEADERS.topic], topics.documents);
    assert.deepEqual(Buffer.from(letter.value_base64, 'base64'), garbage);
  });

  test('tail runs until Ctrl-C, exits 0 and never commits an offset', async () => {
    const child = spawn(process.execPath, [CLI, 'tail', '--topic', 'annotated', '--from-beginning', ...outputFlags(topics),
      '--schema-registry-url', registry.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => {
      stdout += d;
      if (jsonLines(stdout.slice(0, stdout.lastIndexOf('\n') + 1)).length >= COUNT) resolve();
    }));
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    const annotated: AnnotatedDocument[] = jsonLines(stdout);
    assert.deepEqual(annotated.map((a) => a.document.id).sort(), documents.map((d) => d.id).sort());
    assert.deepEqual(annotated.find((a) => a.document.id === documents[0]!.id)!.document, documents[0]);

    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      const tails = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith('bioner-tail-'));
      assert.ok(tails.length > 0, 'the tails\' groups are listed');
      for (const groupId of tails) {
        const offsets = await admin.fetchOffsets({ groupId, topics: [topics.entities, topics.annotated, topics.deadLetters] });
        assert.ok(offsets.every((t) => t.partitions.every((p) => p.offset === '-1')), `${groupId} committed ${JSON.stringify(offsets)}`);
      }
    } finally {
      await admin.disconnect();
    }
  });
});

test('produce --input - reads the corpus from a pipe; without a registry it frames with the fixed id 1', async () => {
  const topics = await freshTopics(brokers, 2);
  const given: Document[] = [
    { id: 'note-1', source: 'clinical_note', text: 'Fever and cough.', types: ['disease', 'chemical'], metadata: { ward: '3' } },
    { id: 'abstract-2', source: 'pubmed', title: 'Tamoxifen', text: 'Tamoxifen-induced hepatitis.' },
  ];
  const corpus = join(await mkdtemp(join(tmpdir(), 'bioner-commands-')), 'documents.jsonl');
  await writeFile(corpus, given.map((d) => JSON.stringify(d)).join('\n'));
  // A shell pipe, as people use it.
  const run = await new Promise<Run>((resolve) => execFile('sh', ['-c', 'cat "$1" | "$2" "$3" produce --input - --input-format jsonl --brokers "$4" --input-topic "$5"',
    'sh', corpus, process.execPath, CLI, brokers, topics.documents], { timeout: 120_000 },
  (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr })));
  assert.equal(run.code, 0, run.stderr);
  const input = await readUntil(brokers, topics.documents, (r) => r.length >= given.length);
  for (const record of input) assert.deepEqual(record.value.subarray(0, 5), Buffer.from([0, 0, 0, 0, 1]));
  const decoded = await Promise.all(input.map((r) => decodeDocumentBytes(createSchemaRegistry(undefined), r.value)));
  assert.deepEqual(decoded.sort((a, b) => a.id.localeCompare(b.id)), [...given].sort((a, b) => a.id.localeCompare(b.id)));
});

test('run --create-topics creates the four topics with the partitions asked for, then runs', async () => {
  const prefix = `created-${randomUUID().slice(0, 8)}`;
  const topics: Topics = { documents: `${prefix}.in`, entities: `${prefix}.entities`, annotated: `${prefix}.annotated`, deadLetters: `${prefix}.dlq` };
  const worker = await startWorker(brokers, topics, ['--model', ORACLE, '--group-id', prefix, '--create-topics', '--topic-partitions', '2']);
  try {
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: Object.values(topics) });
      assert.deepEqual(metadata.map((t) => [t.name, t.partitions.length]).sort(), Object.values(topics).map((t) => [t, 2]).sort());
    } finally {
      await admin.disconnect();
    }
    assert.match(worker.output(), /"message":"created topics"/);
  } finally {
    assert.equal(await stopWorker(worker), 0, worker.output());
  }
});

test('a missing topic is one line and exit 1', async () => {
  const run = await cli(['produce', '--input', NCBI_SAMPLE_OR_TEST, '--input-format', 'pubtator', '--brokers', brokers,
    '--input-topic', `missing-${randomUUID()}`]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^bioner-stream produce: error: topic missing-\S+ does not exist on \S+; create it .* or pass --input-topic\n$/);
});

test('with no broker listening, produce, tail and run each print one line and exit 1', async () => {
  const nobody = ['--brokers', '127.0.0.1:1'];
  const runs = await Promise.all([
    cli(['produce', '--input', NCBI_SAMPLE_OR_TEST, '--input-format', 'pubtator', ...nobody]),
    cli(['tail', '--topic', 'entities', ...nobody]),
    cli(['run', '--model', ORACLE, '--metrics-port', '0', ...nobody]),
  ]);
  for (const [name, run] of ['produce', 'tail', 'run'].map((n, i) => [n, runs[i]!] as const)) {
    assert.equal(run.code, 1, `${name}: ${run.stderr}`);
    assert.equal(run.stderr, `bioner-stream ${name}: error: no Kafka broker reachable at 127.0.0.1:1 (connection refused); start one or pass --brokers\n`);
    assert.equal(run.stdout, '');
  }
});
