import assert from 'node:assert/strict';
import { test } from 'node:test';
import { annotationWriter, type StreamFormat } from '../src/corpora/annotation-writers.js';
import { CorpusFormatError, parseBiocJson, parseBiocXml, parsePubTator, readCorpus } from '../src/corpora/index.js';
import { XmlSyntaxError } from '../src/corpora/xml.js';
import type { AnnotatedDocument, Corpus } from '../src/domain/types.js';
import { OracleBackend } from '../src/inference/oracle-backend.js';
import { Annotator } from '../src/pipeline/annotator.js';
import { queryBatcher } from '../src/inference/query-batcher.js';
import { ConceptLinker } from '../src/stages/concepts/concept-linker.js';
import { goldLexicon } from '../src/stages/concepts/gold-lexicon.js';
import { Lexicon } from '../src/stages/concepts/lexicon.js';
import { EntityTypes } from '../src/stages/entity-types.js';
import { FIXTURES } from './support/paths.js';

const entityTypes = EntityTypes.load();
const label = (type: string) => entityTypes.label(type, 'pubtator');
const PARSERS = { 'bioc-xml': parseBiocXml, 'bioc-json': parseBiocJson, pubtator: parsePubTator } as const;

/** Annotates `corpus` with its own gold answers and a lexicon learnt from it. */
async function annotate(corpus: Corpus): Promise<AnnotatedDocument[]> {
  const linker = new ConceptLinker(new Map([['disease', new Lexicon(goldLexicon(corpus.mentions))]]));
  const annotator = new Annotator({
    batcher: queryBatcher(new OracleBackend(corpus, entityTypes, 'oracle'), { batchSize: 8, batchWaitMs: 1, concurrency: 1 }),
    entityTypes, defaultTypes: ['disease'], concepts: linker,
    provenance: { model_id: 'oracle', prompt_format: 'conv_term', pipeline_version: '0.0.0' },
  });
  return Promise.all(corpus.documents.map((d) => annotator.annotate(d)));
}

function write(format: StreamFormat, annotated: AnnotatedDocument[]): string {
  const writer = annotationWriter(format, label);
  return writer.start() + annotated.map((a) => writer.document(a)).join('') + writer.end();
}

const spans = (corpus: Corpus) => corpus.mentions.map((m) => [m.docId, m.start, m.end, m.text, entityTypes.canonical(m.type), m.conceptIds ?? []]);
const recordSpans = (annotated: AnnotatedDocument[]) =>
  annotated.flatMap((a) => a.entities.map((e) => [e.doc_id, e.start, e.end, e.text, e.type, e.concept_ids]));

for (const format of ['bioc-xml', 'bioc-json', 'pubtator'] as const) {
  test(`${format} round trip: read, annotate, write, read again: same texts, offsets, types and ids`, async () => {
    const source = await readCorpus(`${FIXTURES}/ncbi-disease-sample.pubtator`, 'pubtator');
    const first = PARSERS[format](write(format, await annotate(source)), `first.${format}`);
    assert.deepEqual(first.warnings, []);
    const annotated = await annotate(first);
    assert.ok(annotated.some((a) => a.entities.some((e) => e.concept_id !== null)), 'concepts were linked');
    const again = PARSERS[format](write(format, annotated), `again.${format}`);
    assert.deepEqual(again.documents.map((d) => [d.id, d.title, d.text]), source.documents.map((d) => [d.id, d.title, d.text]));
    assert.deepEqual(spans(again), recordSpans(annotated));
    assert.deepEqual(spans(again), spans(first));
  });
}

test('PubTator output is what the BioCreative V CDR evaluator reads: title, abstract, then PMID start end mention Type ID', async () => {
  const source = await readCorpus(`${FIXTURES}/ncbi-disease-sample.pubtator`, 'pubtator');
  const lines = write('pubtator', await annotate(source)).split('\n');
  assert.match(lines[0]!, /^\d+\|t\|\S/);
  assert.match(lines[1]!, /^\d+\|a\|\S/);
  const annotations = lines.filter((l) => l.includes('\t'));
  assert.ok(annotations.length > 20);
  for (const line of annotations) assert.match(line, /^\d+\t\d+\t\d+\t[^\t]+\tDisease\t(-1|(MESH|OMIM):[CD]?\d+(\|(MESH|OMIM):[CD]?\d+)*)$/);
  assert.ok(lines.at(-1) === '' && lines.at(-2) === '', 'a blank line ends each document');
});

test('BioC relations are read; annotations whose offsets leave the text are errors naming file and line', () => {
  const xml = [
    '<?xml version="1.0"?><!DOCTYPE collection SYSTEM "BioC.dtd">',
    '<collection><source>x</source>',
    '<document><id>1</id>',
    '<passage><infon key="type">title</infon><offset>0</offset><text>Lithium &amp; depression.</text>',
    '<annotation id="A"><infon key="type">Chemical</infon><infon key="MESH">D008094</infon><location offset="0" length="7"/><text>Lithium</text></annotation>',
    '<annotation id="B"><infon key="type">Disease</infon><infon key="MESH">D003866</infon><location offset="10" length="10"/><text>depression</text></annotation>',
    '</passage>',
    '<relation id="R0"><infon key="relation">CID</infon><infon key="Chemical">D008094</infon><infon key="Disease">D003866</infon></relation>',
    '</document></collection>',
  ].join('\n');
  const corpus = parseBiocXml(xml, 'cdr.xml');
  assert.deepEqual(corpus.mentions.map((m) => [m.text, m.type, m.conceptIds]), [
    ['Lithium', 'Chemical', ['MESH:D008094']], ['depression', 'Disease', ['MESH:D003866']],
  ]);
  assert.deepEqual(corpus.relations, [{ docId: '1', type: 'CID', ids: ['D008094', 'D003866'] }]);

  const outside = xml.replace('offset="10" length="10"', 'offset="10" length="40"');
  assert.throws(() => parseBiocXml(outside, 'cdr.xml'), (error: unknown) =>
    error instanceof CorpusFormatError && error.line === 6 && /^cdr\.xml:6: annotation B: location 10\+40 lies outside the document text \(21 characters\)/.test(error.message));
  assert.throws(() => parseBiocXml(xml.replace('</passage>', ''), 'cdr.xml'), (error: unknown) =>
    error instanceof XmlSyntaxError && error.message === 'cdr.xml:9: </document> does not close <passage> of line 4');

  const json = JSON.stringify({ documents: [{ id: '1', passages: [{ offset: 0, text: 'Lithium.', annotations: [
    { id: 'A', infons: { type: 'Chemical' }, text: 'Lithium', locations: [{ offset: 0, length: 7 }] },
    { id: 'B', infons: { type: 'Chemical' }, text: 'Lithium', locations: [{ offset: 5, length: 7 }] },
  ] }] }] }, null, 1);
  const line = json.split('\n').findIndex((l) => l.includes('"B"'));
  assert.throws(() => parseBiocJson(json, 'cdr.json'), (error: unknown) =>
    error instanceof CorpusFormatError && error.line === line && /^cdr\.json:\d+: annotation B: location 5\+7 lies outside/.test(error.message));
  assert.throws(() => parseBiocJson('{"documents": [\n{"id": 1}]}', 'bad.json'), { message: 'bad.json:2: "id" must be a string' });
  assert.throws(() => parseBiocJson('{"documents": [\n{"id": "1",\n}]}', 'bad.json'), { message: 'bad.json:3: expected a string, got "}"' });
});
