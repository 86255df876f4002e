import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { firstDocuments, readCorpus } from '../src/corpora/index.js';
import { FileFormatError } from '../src/domain/file-format-error.js';
import { RecordingBackend, ReplayBackend } from '../src/inference/answer-log.js';
import type { ModelBackend } from '../src/inference/model-backend.js';
import { OracleBackend } from '../src/inference/oracle-backend.js';
import { queryBatcher } from '../src/inference/query-batcher.js';
import { Annotator } from '../src/pipeline/annotator.js';
import { EntityTypes } from '../src/stages/entity-types.js';
import { FIXTURES } from './support/paths.js';

const entityTypes = EntityTypes.load();
const SAMPLE = join(FIXTURES, 'ncbi-disease-sample.pubtator');

const annotator = (backend: ModelBackend, groundShortForms = true) => new Annotator({
  batcher: queryBatcher(backend, { batchSize: 4, batchWaitMs: 1, concurrency: 1 }),
  entityTypes, defaultTypes: ['disease'], abbreviations: { groundShortForms },
  provenance: { model_id: backend.modelId, prompt_format: 'conv_term', pipeline_version: '0.0.0' },
});

test('answers recorded while annotating replay into the same records, with the recorded model id', async () => {
  const corpus = await readCorpus(SAMPLE, 'pubtator');
  const file = join(await mkdtemp(join(tmpdir(), 'bioner-answers-')), 'answers.jsonl');
  const recording = new RecordingBackend(new OracleBackend(corpus, entityTypes, 'oracle:sample'), file);
  const recorded = await Promise.all(corpus.documents.map((d) => annotator(recording).annotate(d)));
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  assert.deepEqual(JSON.parse(lines[0]!), { model_id: 'oracle:sample' });
  assert.equal(lines.length - 1, recorded.reduce((n, a) => n + a.sentence_count, 0), 'one line per (sentence, type) turn');

  const replay = new ReplayBackend(file);
  assert.equal(replay.modelId, 'oracle:sample');
  const replayed = await Promise.all(corpus.documents.map((d) => annotator(replay).annotate(d)));
  assert.deepEqual(replayed, recorded);
  // The same answers through a different stage setting: only the stages after inference differ.
  const ungrounded = await Promise.all(corpus.documents.map((d) => annotator(replay, false).annotate(d)));
  assert.ok(ungrounded.every((a, i) => a.entities.length <= recorded[i]!.entities.length));
});

test('replay refuses a sentence it has no answer for, and a malformed file, naming the file and line', async () => {
  const corpus = await readCorpus(SAMPLE, 'pubtator');
  const dir = await mkdtemp(join(tmpdir(), 'bioner-answers-'));
  const file = join(dir, 'answers.jsonl');
  const first = firstDocuments(corpus, 1);
  const recording = new RecordingBackend(new OracleBackend(first, entityTypes, 'oracle'), file);
  await annotator(recording).annotate(first.documents[0]!);
  await assert.rejects(annotator(new ReplayBackend(file)).annotate(corpus.documents[1]!),
    new RegExp(`answers\\.jsonl has no disease answer for document ${corpus.documents[1]!.id} sentence 0-\\d+`));

  const bad = join(dir, 'bad.jsonl');
  await writeFile(bad, '{"model_id":"m"}\n{"doc_id":"1","start":0,"end":3,"text":"abc","answer":{"type":"disease","raw":"Answer: []"}}\nnot json\n');
  assert.throws(() => new ReplayBackend(bad), (e: unknown) => e instanceof FileFormatError && e.line === 3 && /bad\.jsonl:3: not JSON/.test(e.message));
  await writeFile(bad, '{"doc_id":"1"}\n');
  assert.throws(() => new ReplayBackend(bad), /bad\.jsonl:1: expected the header/);
});

test('firstDocuments keeps the first n documents with their mentions; undefined keeps the corpus', async () => {
  const corpus = await readCorpus(SAMPLE, 'pubtator');
  const two = firstDocuments(corpus, 2);
  assert.deepEqual(two.documents, corpus.documents.slice(0, 2));
  const kept = new Set(two.documents.map((d) => d.id));
  assert.deepEqual(two.mentions, corpus.mentions.filter((m) => kept.has(m.docId)));
  assert.ok(two.mentions.length > 0 && two.mentions.length < corpus.mentions.length);
  assert.equal(firstDocuments(corpus, undefined), corpus);
});
