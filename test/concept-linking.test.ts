import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { compositeReadings } from '../src/stages/concepts/composite-mentions.js';
import { ConceptLinker } from '../src/stages/concepts/concept-linker.js';
import { goldLexicon } from '../src/stages/concepts/gold-lexicon.js';
import { formatLexiconTsv, LexiconFormatError, parseLexicon, readLexiconFile } from '../src/stages/concepts/lexicon-files.js';
import { Lexicon } from '../src/stages/concepts/lexicon.js';
import { nameKey } from '../src/stages/concepts/name-key.js';
import { findAbbreviations } from '../src/stages/find-abbreviations.js';
import { linkConcepts } from '../src/stages/link-concepts.js';
import type { TypedMention } from '../src/stages/normalise-entities.js';
import { resolveAbbreviations } from '../src/stages/resolve-abbreviations.js';
import { splitSentences } from '../src/stages/split-sentences.js';

const FIXTURE = [
  '# id\tname\tsynonyms',
  'MESH:D006527\tHepatolenticular Degeneration\tWilson disease|Wilson\'s disease',
  'D001943\tBreast Neoplasms\tbreast cancer',
  'MESH:D010051\tOvarian Neoplasms\tovarian cancer',
  'MESH:D003866\tDepressive Disorder\tdepression',
  'MESH:D000740\tAnemia\t',
  'MESH:D009369\tNeoplasms\ttumour',
  'MESH:D013167\tSpondylitis, Ankylosing\tankylosing spondylitis',
  'MESH:D016157\tTNF-alpha\t',
].join('\n');

const disease = new Lexicon(parseLexicon(FIXTURE, 'tsv', 'fixture.tsv'));
const linker = new ConceptLinker(new Map([['disease', disease]]), { threshold: 0.6 });

test('normalised exact: case, apostrophes, plurals, British spelling, Greek letters, word order', () => {
  for (const name of ["WILSON'S DISEASE", 'wilson diseases', 'Wilson-disease']) {
    assert.deepEqual(linker.link('disease', name), { ids: ['MESH:D006527'], name: 'Hepatolenticular Degeneration', score: 1 });
  }
  assert.equal(linker.link('disease', 'anaemias')?.ids[0], 'MESH:D000740');
  assert.equal(linker.link('disease', 'tumors')?.ids[0], 'MESH:D009369');
  assert.equal(linker.link('disease', 'TNF-α')?.ids[0], 'MESH:D016157');
  assert.equal(linker.link('disease', 'neoplasms of the breast')?.ids[0], 'MESH:D001943');
  assert.equal(nameKey('Fanconi\'s Anaemias'), 'fanconi anemia');
  assert.equal(linker.link('chemical', 'depression'), undefined, 'a type without a lexicon stays unlinked');
});

test('abbreviation expansion: a short form links through its long form', () => {
  assert.equal(linker.link('disease', 'WD'), undefined);
  assert.deepEqual(linker.link('disease', 'WD', 'Wilson disease')?.ids, ['MESH:D006527']);
});

test('fuzzy: the nearest name by character trigrams, with its score, above the threshold only', () => {
  const match = linker.link('disease', 'Wilsons diseese');
  assert.equal(match?.ids[0], 'MESH:D006527');
  assert.ok(match!.score >= 0.6 && match!.score < 1, `score ${match!.score}`);
  assert.equal(linker.link('disease', 'chronic kidney failure'), undefined);
  const strict = new ConceptLinker(new Map([['disease', disease]]), { threshold: 0.99 });
  assert.equal(strict.link('disease', 'Wilsons diseese'), undefined);
});

test('a name no match finds links through its longest known tail, scored by the words kept', () => {
  assert.deepEqual(linker.link('disease', 'ribavirin-induced severe anemia'), { ids: ['MESH:D000740'], name: 'Anemia', score: 0.25 });
});

test('a composite mention gets the id of each part', () => {
  assert.deepEqual(compositeReadings('breast and ovarian cancer'), [['breast cancer', 'breast'], ['ovarian cancer']]);
  assert.deepEqual(compositeReadings('Duchenne and Becker muscular dystrophy'), [
    ['Duchenne muscular dystrophy', 'Duchenne dystrophy', 'Duchenne'], ['Becker muscular dystrophy'],
  ]);
  assert.deepEqual(compositeReadings('muscular dystrophy'), []);
  assert.deepEqual(linker.link('disease', 'breast and ovarian cancer'), {
    ids: ['MESH:D001943', 'MESH:D010051'], name: 'Breast Neoplasms|Ovarian Neoplasms', score: 1,
  });
  assert.deepEqual(linker.link('disease', 'breast and/or ovarian cancers')?.ids, ['MESH:D001943', 'MESH:D010051']);
  assert.equal(linker.link('disease', 'breast and kidney failure'), undefined, 'every part must link');
});

test('abbreviations in a document: the short form takes the long form type, concept, and occurrences', () => {
  const document = { id: 'd', source: 'pubmed' as const, text: 'Wilson disease (WD) is rare. In WD, copper builds up. WDR5 and non-WD livers differ.' };
  const sentences = splitSentences(document);
  const definitions = findAbbreviations(sentences);
  const mention = (text: string, start: number, type: string): TypedMention => ({ mention: text, text, start, end: start + text.length, type, sentenceIndex: 0 });
  const answered = [mention('Wilson disease', 0, 'disease'), mention('WD', 16, 'chemical')];

  const resolved = linkConcepts(resolveAbbreviations(sentences, definitions, answered), linker);
  assert.deepEqual(
    resolved.map((m) => [m.text, m.start, m.type, m.longForm, m.concept?.ids[0]]),
    [
      ['Wilson disease', 0, 'disease', undefined, 'MESH:D006527'],
      ['WD', 16, 'disease', 'Wilson disease', 'MESH:D006527'],
      ['WD', 32, 'disease', 'Wilson disease', 'MESH:D006527'],
    ],
  );
  assert.equal(document.text.slice(32, 34), 'WD');

  const off = resolveAbbreviations(sentences, definitions, [answered[0]!], { groundShortForms: false });
  assert.deepEqual(off.map((m) => m.text), ['Wilson disease']);
});

test('lexicon files: CTD, OBO, plain TSV (gzipped too), and malformed lines named by file and line', async () => {
  const ctd = [
    '# CTD disease vocabulary',
    '# Fields:',
    '# DiseaseName\tDiseaseID\tAltDiseaseIDs\tDefinition\tParentIDs\tTreeNumbers\tParentTreeNumbers\tSynonyms\tSlimMappings',
    'Depression\tMESH:D003866\t\tA mood disorder\tMESH:D001523\tF03\tF03\tDepressive Disorder|Depressions\tMental disorder',
  ].join('\n');
  const obo = [
    'format-version: 1.2',
    '[Term]',
    'id: DOID:0001816',
    'name: angiosarcoma',
    'synonym: "hemangiosarcoma" EXACT []',
    '[Term]',
    'id: DOID:9',
    'name: obsolete thing',
    'is_obsolete: true',
    '[Typedef]',
    'id: part_of',
  ].join('\n');
  const dir = await mkdtemp(join(tmpdir(), 'bioner-lexicon-'));
  try {
    await writeFile(join(dir, 'CTD_diseases.tsv.gz'), gzipSync(ctd));
    await writeFile(join(dir, 'do.obo'), obo);
    await writeFile(join(dir, 'mine.tsv'), FIXTURE);
    assert.deepEqual(readLexiconFile(join(dir, 'CTD_diseases.tsv.gz')), [
      { id: 'MESH:D003866', name: 'Depression', synonyms: ['Depressive Disorder', 'Depressions'] },
    ]);
    assert.deepEqual(readLexiconFile(join(dir, 'do.obo')), [{ id: 'DOID:0001816', name: 'angiosarcoma', synonyms: ['hemangiosarcoma'] }]);
    assert.equal(readLexiconFile(join(dir, 'mine.tsv'))[1]!.id, 'MESH:D001943');

    const bad = (content: string, format: 'tsv' | 'obo', line: number, pattern: RegExp) =>
      assert.throws(() => parseLexicon(content, format, 'bad.tsv'), (error: unknown) => {
        assert.ok(error instanceof LexiconFormatError);
        assert.equal(error.line, line);
        assert.match(error.message, new RegExp(`^bad\\.tsv:${line}: ${pattern.source}`));
        return true;
      });
    bad('MESH:D1\tname\nMESH:D2 no tab here', 'tsv', 2, /expected id<TAB>name/);
    bad('MESH:D1\tname\n\nD2\t \t', 'tsv', 3, /empty name/);
    bad('not an id\tname', 'tsv', 1, /not a concept id/);
    bad('[Term]\nid: DOID:1\nsynonym: unquoted EXACT []', 'obo', 3, /synonym: must start with a quoted name/);
    bad('[Term]\nname: no id', 'obo', 1, /\[Term\] without an id/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('gold lexicons: a name goes to the concept it names most often; composite mentions teach no name', () => {
  const m = (text: string, ...conceptIds: string[]) => ({ docId: 'd', start: 0, end: text.length, text, type: 'Disease', conceptIds });
  const concepts = goldLexicon([
    m('tumours', 'MESH:D009369'), m('tumor', 'MESH:D009369'), m('tumour', 'MESH:D009369'), m('tumour', 'MESH:D002277'),
    m('carcinoma', 'MESH:D002277'), m('breast and ovarian cancer', 'MESH:D001943', 'MESH:D010051'),
  ]);
  assert.deepEqual(concepts, [
    { id: 'MESH:D002277', name: 'carcinoma', synonyms: [] },
    { id: 'MESH:D009369', name: 'tumour', synonyms: [] },
  ]);
  assert.deepEqual(parseLexicon(formatLexiconTsv(concepts), 'tsv', 'x'), concepts, 'the TSV written reads back');
});
