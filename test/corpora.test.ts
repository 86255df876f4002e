import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CorpusFormatError,
  parseIob,
  parseJsonl,
  parsePubTator,
  parseText,
  readCorpus,
  type CorpusFormat,
} from '../src/corpora/index.js';
import type { Corpus } from '../src/domain/types.js';

// Compiled to dist/test/: three levels up is the project's parent, where shared/data lives.
const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const noData = existsSync(DATA) ? false : `corpora not found at ${DATA}`;

/** Every gold mention lies in its document and its text is the slice it names. */
function assertGrounded(corpus: Corpus): void {
  const texts = new Map(corpus.documents.map((d) => [d.id, d.text]));
  assert.equal(texts.size, corpus.documents.length, 'document ids are unique');
  for (const m of corpus.mentions) {
    const text = texts.get(m.docId);
    assert.ok(text !== undefined, `mention in unknown document ${m.docId}`);
    assert.equal(text.slice(m.start, m.end), m.text, `${m.docId} ${m.start}-${m.end}`);
  }
}

/** Runs `fn`, expecting a CorpusFormatError on `line` whose message matches `pattern`. */
function assertFormatError(fn: () => unknown, line: number, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CorpusFormatError);
    assert.equal(error.line, line);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('parsePubTator', () => {
  const fixture = [
    '111|t|Wilson disease in dogs.',
    '111|a|Copper toxicosis causes liver disease.',
    '111\t0\t14\tWilson disease\tSpecificDisease\tD006527',
    '111\t24\t40\tCopper toxicosis\tModifier\tOMIM:215600',
    '111\t48\t61\tliver disease\tDiseaseClass\tD008107',
    '111\t48\t59\tWRONG TEXT\tDiseaseClass\tD008107',
    '',
    '222|t|Ataxia.',
    '222|a|Nothing else.',
    '222\t0\t6\tAtaxia\tSpecificDisease\tD001259',
    '',
    '111|t|Wilson disease in dogs.',
    '111|a|Copper toxicosis causes liver disease.',
    '111\t0\t14\tWilson disease\tSpecificDisease\tD006527',
    '',
  ].join('\n');

  test('documents: text is title + " " + abstract, source pubmed, title set', () => {
    const corpus = parsePubTator(fixture, 'fix.pubtator');
    assert.deepEqual(corpus.documents[0], {
      id: '111',
      source: 'pubmed',
      title: 'Wilson disease in dogs.',
      text: 'Wilson disease in dogs. Copper toxicosis causes liver disease.',
    });
    assert.deepEqual(
      corpus.mentions.filter((m) => m.docId === '111'),
      [
        { docId: '111', start: 0, end: 14, text: 'Wilson disease', type: 'SpecificDisease', conceptIds: ['MESH:D006527'] },
        { docId: '111', start: 24, end: 40, text: 'Copper toxicosis', type: 'Modifier', conceptIds: ['OMIM:215600'] },
        { docId: '111', start: 48, end: 61, text: 'liver disease', type: 'DiseaseClass', conceptIds: ['MESH:D008107'] },
      ],
    );
    assertGrounded(corpus);
  });

  test('quirks: mismatching annotation skipped, repeated PMID kept as PMID#2, both reported', () => {
    const corpus = parsePubTator(fixture, 'fix.pubtator');
    assert.deepEqual(
      corpus.documents.map((d) => d.id),
      ['111', '222', '111#2'],
    );
    assert.equal(corpus.mentions.length, 5);
    assert.deepEqual(
      corpus.mentions.filter((m) => m.docId === '111#2').map((m) => m.text),
      ['Wilson disease'],
    );
    assert.equal(corpus.warnings.length, 2);
    assert.match(corpus.warnings[0], /^fix\.pubtator:6: .*"WRONG TEXT".*skipped/);
    assert.match(corpus.warnings[1], /^fix\.pubtator:12: PMID 111 already appeared at line 1; kept as document 111#2/);
  });

  test('tolerates CRLF, a missing final blank line and a missing blank line between documents', () => {
    const corpus = parsePubTator('1|t|A.\r\n1|a|B.\r\n1\t0\t1\tA\tX\r\n2|t|C.\r\n2|a|D.');
    assert.deepEqual(
      corpus.documents.map((d) => [d.id, d.text]),
      [
        ['1', 'A. B.'],
        ['2', 'C. D.'],
      ],
    );
    assert.equal(corpus.mentions.length, 1);
  });

  test('keeps relation lines (BC5CDR CID) with their document', () => {
    const corpus = parsePubTator('7|t|A.\n7|a|B.\n7\t0\t2\tA.\tChemical\tD1\n7\tCID\tD1\tD2\n\n8|t|C.\n8|a|D.\n');
    assert.deepEqual(corpus.relations, [{ docId: '7', type: 'CID', ids: ['D1', 'D2'] }]);
    assert.equal(corpus.mentions.length, 1);
    assert.deepEqual(corpus.warnings, []);
  });

  test('concept ids: -1 is none, | a composite mention, + concepts needed together; ids become CURIEs', () => {
    const corpus = parsePubTator(
      [
        '5|t|Breast and ovarian cancer.',
        '5|a|X.',
        '5\t0\t25\tBreast and ovarian cancer\tCompositeMention\tD001943|D010051',
        '5\t11\t25\tovarian cancer\tDisease\t-1',
        '5\t0\t6\tBreast\tModifier\tD020279+OMIM:113705',
        '5\t27\t28\tX\tChemical',
      ].join('\n'),
    );
    assert.deepEqual(
      corpus.mentions.map((m) => m.conceptIds),
      [['MESH:D001943', 'MESH:D010051'], undefined, ['MESH:D020279', 'OMIM:113705'], undefined],
    );
    assertFormatError(() => parsePubTator('5|t|A.\n5|a|B.\n5\t0\t2\tA.\tChemical\tnot an id'), 3, /not a concept id/);
  });

  test('malformed lines throw with the line number', () => {
    assertFormatError(() => parsePubTator('1|t|A\n1|a|B\njunk', 'f'), 3, /^f:3: expected PMID\|t\|/);
    assertFormatError(() => parsePubTator('1|t|A\n2|a|B'), 2, /abstract line for PMID 2 does not follow its title line/);
    assertFormatError(() => parsePubTator('1|t|A\n1|a|B\n2\t0\t1\tA\tX'), 3, /annotation for PMID 2 outside its document/);
    assertFormatError(() => parsePubTator('1|t|A\n1|a|B\n1\tx\t1\tA\tX'), 3, /offsets must be non-negative integers/);
    assertFormatError(() => parsePubTator('\n1\t0\t1\tA\tX'), 2, /outside its document/);
  });
});

describe('parseIob', () => {
  const fixture = [
    '-DOCSTART-\tO',
    '',
    'Torsade\tB-Disease',
    'de\tI-Disease',
    'pointes\tI-Disease',
    'after\tO',
    'dobutamine\tB-Chemical',
    '.\tO',
    '',
    'IL-2\tI-protein', // I- without B- starts an entity (conlleval)
    'gene\tI-DNA', // I- of another type starts a new one
    'T\tB-cell_type',
    'cells\tI-cell_type',
    '',
    '',
    '-DOCSTART-\tO',
    '',
    'NF-kB\tNN\tB-protein', // extra middle column ignored
    'p50\tNN\tB-protein', // B- right after B-: two entities
  ].join('\n');

  test('one document per sentence with ids <stem>:<index>, gold spans on the space-joined text', () => {
    const corpus = parseIob(fixture, 'data/test.tsv');
    assert.deepEqual(corpus.documents, [
      { id: 'test:0', source: 'other', text: 'Torsade de pointes after dobutamine .' },
      { id: 'test:1', source: 'other', text: 'IL-2 gene T cells' },
      { id: 'test:2', source: 'other', text: 'NF-kB p50' },
    ]);
    assert.deepEqual(
      corpus.mentions.map((m) => [m.docId, m.start, m.end, m.text, m.type]),
      [
        ['test:0', 0, 18, 'Torsade de pointes', 'Disease'],
        ['test:0', 25, 35, 'dobutamine', 'Chemical'],
        ['test:1', 0, 4, 'IL-2', 'protein'],
        ['test:1', 5, 9, 'gene', 'DNA'],
        ['test:1', 10, 17, 'T cells', 'cell_type'],
        ['test:2', 0, 5, 'NF-kB', 'protein'],
        ['test:2', 6, 9, 'p50', 'protein'],
      ],
    );
    assert.deepEqual(corpus.warnings, []);
    assertGrounded(corpus);
  });

  test('malformed lines throw with the line number', () => {
    assertFormatError(() => parseIob('a\tO\nb', 'x.tsv'), 2, /^x\.tsv:2: expected token<TAB>tag/);
    assertFormatError(() => parseIob('a\tO\n\nb\tE-Gene', 'x.tsv'), 3, /"b\\tE-Gene"/);
    assertFormatError(() => parseIob('\tO', 'x.tsv'), 1, /expected token<TAB>tag/);
  });
});

describe('parseJsonl', () => {
  test('one document per line, optional fields kept, blank lines ignored', () => {
    const corpus = parseJsonl(
      [
        '{"id":"n1","text":"Pt has DM2.","source":"clinical_note","metadata":{"ward":"3"},"types":["disease"]}',
        '',
        '{"id":"p1","text":"T. B.","title":"T.","source":"pubmed"}',
        '{"id":"o1","text":""}',
      ].join('\n'),
    );
    assert.deepEqual(corpus.documents, [
      { id: 'n1', source: 'clinical_note', text: 'Pt has DM2.', metadata: { ward: '3' }, types: ['disease'] },
      { id: 'p1', source: 'pubmed', text: 'T. B.', title: 'T.' },
      { id: 'o1', source: 'other', text: '' },
    ]);
    assert.deepEqual(corpus.mentions, []);
  });

  test('a repeated id is kept as id#2 with a warning', () => {
    const corpus = parseJsonl('{"id":"a","text":"x"}\n{"id":"a","text":"y"}', 'in.jsonl');
    assert.deepEqual(
      corpus.documents.map((d) => d.id),
      ['a', 'a#2'],
    );
    assert.deepEqual(corpus.warnings, ['in.jsonl:2: id a repeated; kept as document a#2']);
  });

  test('invalid lines throw with the line number', () => {
    const ok = '{"id":"a","text":"x"}\n';
    assertFormatError(() => parseJsonl(`${ok}{"id":`, 'in.jsonl'), 2, /^in\.jsonl:2: invalid JSON/);
    assertFormatError(() => parseJsonl(`${ok}[1]`), 2, /expected a JSON object/);
    assertFormatError(() => parseJsonl(`${ok}{"text":"x"}`), 2, /"id" must be a non-empty string/);
    assertFormatError(() => parseJsonl(`${ok}{"id":"b"}`), 2, /"text" must be a string/);
    assertFormatError(() => parseJsonl(`${ok}{"id":"b","text":"x","source":"web"}`), 2, /"source" must be one of/);
    assertFormatError(() => parseJsonl(`${ok}{"id":"b","text":"x","title":3}`), 2, /"title" must be a string/);
    assertFormatError(() => parseJsonl(`${ok}{"id":"b","text":"x","metadata":{"k":1}}`), 2, /"metadata"/);
    assertFormatError(() => parseJsonl(`${ok}{"id":"b","text":"x","types":"disease"}`), 2, /"types"/);
  });
});

test('parseText: the whole file is one document named after the file', () => {
  assert.deepEqual(parseText('\uFEFFLine one.\n\nLine two.\n', 'notes/n1.txt'), {
    documents: [{ id: 'n1', source: 'other', text: 'Line one.\n\nLine two.\n' }],
    mentions: [],
    relations: [],
    warnings: [],
  });
});

test('readCorpus reads each format from a file, errors name the path and line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-corpora-'));
  try {
    const files: Record<CorpusFormat, [string, string]> = {
      pubtator: ['a.pubtator', '9|t|T.\n9|a|A.\n'],
      iob: ['b.tsv', 'x\tB-Gene\n'],
      jsonl: ['c.jsonl', '{"id":"c","text":"C."}\n'],
      text: ['d.txt', 'D.'],
      lines: ['g.txt', 'G1.\n\nG3.\n'],
      'bioc-xml': ['e.xml', '<collection><document><id>e</id><passage><offset>0</offset><text>E.</text></passage></document></collection>'],
      'bioc-json': ['f.json', '{"documents":[{"id":"f","passages":[{"offset":0,"text":"F."}]}]}'],
    };
    const ids: Record<string, string[]> = {};
    for (const [format, [name, content]] of Object.entries(files) as [CorpusFormat, [string, string]][]) {
      await writeFile(join(dir, name), content);
      ids[format] = (await readCorpus(join(dir, name), format)).documents.map((d) => d.id);
    }
    assert.deepEqual(ids, { pubtator: ['9'], iob: ['b:0'], jsonl: ['c'], text: ['d'], lines: ['g:1', 'g:3'], 'bioc-xml': ['e'], 'bioc-json': ['f'] });

    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"id":"a","text":"x"}\nnot json\n');
    await assert.rejects(readCorpus(bad, 'jsonl'), (error: Error) => error.message.startsWith(`${bad}:2: invalid JSON`));
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a folder is one corpus: files in name order, an id an earlier file used kept as id#2 with a warning, mentions moved along', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-corpora-'));
  try {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'b.pubtator'), '7|t|Flu.\n7|a|\n7\t0\t3\tFlu\tDisease\t-1\n');
    await writeFile(join(dir, 'a.pubtator'), '7|t|Cold.\n7|a|\n');
    const corpus = await readCorpus(dir, 'pubtator');
    assert.deepEqual(corpus.documents.map((d) => [d.id, d.title]), [['7', 'Cold.'], ['7#2', 'Flu.']]);
    assert.deepEqual(corpus.mentions.map((m) => [m.docId, m.text]), [['7#2', 'Flu']]);
    assert.deepEqual(corpus.warnings, ['document id 7 repeated in another file; kept as 7#2']);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('bytes that are not UTF-8 text are refused with the byte and the line, never replaced', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-corpora-'));
  try {
    const cases: [number[], RegExp][] = [
      [[0x61, 0x0a, 0x62, 0x00], /:2: a NUL byte at byte 3: a binary file/],
      [[0x61, 0x0a, 0x0a, 0xc3, 0x28], /:3: invalid UTF-8 at byte 3 \(0xc3\)/], // a lead byte without its continuation
      [[0xed, 0xa0, 0x80], /:1: invalid UTF-8 at byte 0 \(0xed\)/], // a UTF-16 surrogate
      [[0xc0, 0xaf], /:1: invalid UTF-8 at byte 0 \(0xc0\)/], // an overlong '/'
    ];
    for (const [bytes, message] of cases) {
      const file = join(dir, 'x.txt');
      await writeFile(file, Buffer.from(bytes));
      await assert.rejects(readCorpus(file, 'text'), message);
    }
    await writeFile(join(dir, 'ok.txt'), 'caf\u00e9 \u{1F9EC}');
    assert.equal((await readCorpus(join(dir, 'ok.txt'), 'text')).documents[0]!.text, 'caf\u00e9 \u{1F9EC}');
  } finally {
    await rm(dir, { recursive: true });
  }
});

describe('shared corpora', { skip: noData }, () => {
  test('NCBI-disease: 100/100/593 documents, gold offsets match, the two train quirks reported', async (t) => {
    const expected = {
      test: { documents: 100, mentions: 960, warnings: 0 },
      devel: { documents: 100, mentions: 787, warnings: 0 },
      // 593 title lines, one PMID twice (kept as 8528200#2); 5145 annotation lines, one skipped.
      train: { documents: 593, mentions: 5144, warnings: 2 },
    };
    for (const [part, want] of Object.entries(expected)) {
      const corpus = await readCorpus(join(DATA, 'ncbi-disease', `${part}.pubtator`), 'pubtator');
      assertGrounded(corpus);
      assert.deepEqual(
        { documents: corpus.documents.length, mentions: corpus.mentions.length, warnings: corpus.warnings.length },
        want,
        part,
      );
      assert.deepEqual(new Set(corpus.mentions.map((m) => m.type)), new Set(['SpecificDisease', 'DiseaseClass', 'CompositeMention', 'Modifier']));
      for (const warning of corpus.warnings) t.diagnostic(warning);
    }
  });

  test('BC5CDR and JNLPBA: sentence and mention counts, gold spans match', async () => {
    // Counted independently with awk (sentences; B- tags plus I- tags that start an entity).
    const expected: Record<string, [number, number, string[]]> = {
      'bc5cdr-iob/train.tsv': [4560, 9385, ['Chemical', 'Disease']],
      'bc5cdr-iob/devel.tsv': [4581, 9593, ['Chemical', 'Disease']],
      'bc5cdr-iob/test.tsv': [4797, 9809, ['Chemical', 'Disease']],
      'jnlpba-iob/devel.tsv': [1739, 4551, ['DNA', 'RNA', 'cell_line', 'cell_type', 'protein']],
      'jnlpba-iob/test.tsv': [3856, 8662, ['DNA', 'RNA', 'cell_line', 'cell_type', 'protein']],
    };
    for (const [file, [documents, mentions, types]] of Object.entries(expected)) {
      const corpus = await readCorpus(join(DATA, file), 'iob');
      assertGrounded(corpus);
      assert.equal(corpus.documents.length, documents, file);
      assert.equal(corpus.mentions.length, mentions, file);
      assert.deepEqual([...new Set(corpus.mentions.map((m) => m.type))].sort(), types, file);
      assert.deepEqual(corpus.warnings, []);
    }
  });

  test('BC5CDR PubTator: relation lines kept, concept ids as CURIEs, -1 as none', async () => {
    // Counted with grep: title lines, CID lines, mention lines, mention lines ending in -1.
    const expected: Record<string, [number, number, number, number]> = {
      'bc5cdr-pubtator/train.pubtator': [500, 1038, 9385, 76],
      'bc5cdr-pubtator/devel.pubtator': [500, 1012, 9591, 59],
    };
    for (const [file, [documents, relations, mentions, unlinked]] of Object.entries(expected)) {
      const corpus = await readCorpus(join(DATA, file), 'pubtator');
      assertGrounded(corpus);
      assert.deepEqual([corpus.documents.length, corpus.relations.length, corpus.mentions.length], [documents, relations, mentions], file);
      assert.equal(corpus.mentions.filter((m) => !m.conceptIds).length, unlinked, file);
      assert.ok(corpus.relations.every((r) => r.type === 'CID' && r.ids.length === 2), file);
      for (const m of corpus.mentions) for (const id of m.conceptIds ?? []) assert.match(id, /^MESH:[CD]\d+$/);
    }
  });
});
