import assert from 'node:assert/strict';
import fs, { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mock, test } from 'node:test';
import { FileFormatError } from '../src/domain/file-format-error.js';
import { conceptLinker, DEFAULT_LEXICON_DIR } from '../src/pipeline/concept-lexicons.js';
import { projectPath } from '../src/project.js';
import { mergeConcepts } from '../src/stages/concepts/merge-concepts.js';
import { EntityTypes } from '../src/stages/entity-types.js';
import { unshadowed } from '../tools/lexicons/default-lexicons.js';
import { descriptorsOfType, parseMeshCsv } from '../tools/lexicons/mesh-descriptors.js';

const entityTypes = EntityTypes.load();
const MESH = 'https://id.nlm.nih.gov/mesh';

test('MeSH CSV: descriptors with their names, qualifier rows as allowed qualifiers, the type by qualifier', () => {
  const csv = [
    'id,scheme,subject',
    `${MESH}/D006973,MeSH,Hypertension`,
    `${MESH}/D006973Q000188,MeSH,Hypertension/drug therapy`,
    `${MESH}/D000740,MeSH,"Anemia, Hemolytic ""acquired"""`,
    `${MESH}/D000740Q000188,MeSH,"Anemia, Hemolytic/drug therapy"`,
    `${MESH}/D008687,MeSH,Metformin`,
    `${MESH}/D008687Q000494,MeSH,Metformin/pharmacology`,
    `${MESH}/D001940,MeSH,Breast`,
    `${MESH}/D001940Q000033,MeSH,Breast/anatomy & histology`,
    '',
  ].join('\r\n');
  const descriptors = parseMeshCsv(csv, 'mesh.csv');
  assert.equal(descriptors.length, 4);
  assert.deepEqual(descriptorsOfType(descriptors, 'disease'), [
    { id: 'MESH:D006973', name: 'Hypertension', synonyms: [] },
    { id: 'MESH:D000740', name: 'Anemia, Hemolytic "acquired"', synonyms: [] },
  ]);
  assert.deepEqual(descriptorsOfType(descriptors, 'chemical').map((c) => c.id), ['MESH:D008687'], 'anatomy goes to neither');
  assert.throws(() => parseMeshCsv(`id,scheme,subject\n${MESH}/D1,MeSH,"unterminated`, 'bad.csv'),
    (error: unknown) => error instanceof FileFormatError && /bad\.csv:2: unterminated/.test(error.message));
  assert.throws(() => parseMeshCsv('id,scheme,subject\nhttp://example.org/x,MeSH,X', 'bad.csv'), /bad\.csv:2: expected a MeSH URI/);
});

test('merged lexicons: a concept keeps the first list\'s name, later names become synonyms, normalised duplicates once', () => {
  const merged = mergeConcepts([
    [{ id: 'MESH:D013629', name: 'Tamoxifen', synonyms: [] }, { id: 'MESH:D008687', name: 'Metformin', synonyms: [] }],
    [{ id: 'MESH:D013629', name: 'tamoxifen', synonyms: ['TAM', 'Tamoxifens'] }, { id: 'MESH:C1', name: 'gold only', synonyms: [] }],
  ]);
  assert.deepEqual(merged, [
    { id: 'MESH:D013629', name: 'Tamoxifen', synonyms: ['TAM'] },
    { id: 'MESH:D008687', name: 'Metformin', synonyms: [] },
    { id: 'MESH:C1', name: 'gold only', synonyms: [] },
  ]);
});

test('a descriptor the corpora never name loses to the concept they give its preferred name', () => {
  const gold = [{ id: 'MESH:D003866', name: 'depression', synonyms: ['depressive symptoms'] }];
  const descriptors = [
    { id: 'MESH:D003863', name: 'Depression', synonyms: [] }, // would take "depression" as its preferred name
    { id: 'MESH:D003866', name: 'Depressive Disorder', synonyms: [] },
    { id: 'MESH:D000001', name: 'Symptoms, Depressive', synonyms: [] }, // the same words, reordered
    { id: 'MESH:D006973', name: 'Hypertension', synonyms: [] },
  ];
  assert.deepEqual(unshadowed(descriptors, gold).map((d) => d.id), ['MESH:D003866', 'MESH:D006973']);
});

test('the shipped lexicons: MeSH ids and preferred names, the corpora\'s names as synonyms', async () => {
  const linker = (await conceptLinker('default', entityTypes, { warn: assert.fail }))!;
  assert.deepEqual(linker.link('chemical', 'metformin'), { ids: ['MESH:D008687'], name: 'Metformin', score: 1 });
  for (const name of ['tamoxifen', 'TAM']) assert.deepEqual(linker.link('chemical', name), { ids: ['MESH:D013629'], name: 'Tamoxifen', score: 1 });
  assert.deepEqual(linker.link('disease', 'depression'), { ids: ['MESH:D003866'], name: 'Depressive Disorder', score: 1 }, "the annotators' concept");
  assert.equal(linker.link('disease', 'Hepatolenticular Degeneration')?.ids[0], 'MESH:D006527');
  assert.equal(linker.link('disease', 'metformin'), undefined, 'chemicals stay out of the disease lexicon');
});

test('--lexicons items add up: default,TYPE=FILE keeps the defaults; TYPE=FILE alone links only TYPE; none stands alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-lexicons-'));
  try {
    const genes = join(dir, 'genes.tsv');
    await writeFile(genes, 'NCBIGene:7157\tTP53\tp53|tumor protein p53\n');
    const diseases = join(dir, 'diseases.tsv');
    await writeFile(diseases, 'MESH:D003866\tDepression, mine\tlow mood\nMONDO:1\tmy disease\t\n');
    const both = (await conceptLinker(`default,gene=${genes}`, entityTypes, { warn: assert.fail }))!;
    assert.equal(both.link('gene', 'p53')?.ids[0], 'NCBIGene:7157');
    assert.equal(both.link('chemical', 'metformin')?.ids[0], 'MESH:D008687');
    assert.equal(both.link('disease', 'depression')?.ids[0], 'MESH:D003866');
    const genesOnly = (await conceptLinker(`gene=${genes}`, entityTypes))!;
    assert.equal(genesOnly.link('gene', 'tumour protein p53')?.ids[0], 'NCBIGene:7157');
    assert.equal(genesOnly.link('chemical', 'metformin'), undefined);
    // A user's disease lexicon joins the default one; a concept in both keeps the default's name.
    const joined = (await conceptLinker(`default,disease=${diseases}`, entityTypes))!;
    assert.deepEqual(joined.link('disease', 'low mood'), { ids: ['MESH:D003866'], name: 'Depressive Disorder', score: 1 });
    assert.equal(joined.link('disease', 'my disease')?.ids[0], 'MONDO:1');
    assert.equal(joined.link('disease', 'hypertension')?.ids[0], 'MESH:D006973');
    assert.equal(await conceptLinker(' none ', entityTypes), undefined);
    await assert.rejects(conceptLinker(`none,gene=${genes}`, entityTypes), /none takes no other item/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the runtime reads the default lexicons from its own dist/lexicons, never ../shared, and writes nothing', async () => {
  const reads: string[] = [];
  const writes: string[] = [];
  type Methods = Record<string, (...args: unknown[]) => unknown>;
  const spy = (object: object, names: string[], into: string[]) => {
    for (const name of names) {
      const original = (object as Methods)[name]!;
      mock.method(object as Methods, name, function (this: unknown, path: unknown, ...rest: unknown[]) {
        into.push(String(path));
        return original.call(this, path, ...rest);
      });
    }
  };
  spy(fs, ['readFileSync', 'existsSync', 'readdirSync', 'statSync', 'openSync', 'createReadStream'], reads);
  spy(fs, ['writeFileSync', 'appendFileSync', 'mkdirSync', 'renameSync', 'createWriteStream'], writes);
  spy(fs.promises, ['writeFile', 'appendFile', 'mkdir', 'rename', 'open'], writes);
  syncBuiltinESMExports(); // so that the modules' named imports of node:fs call the spies
  try {
    await conceptLinker('default', entityTypes);
  } finally {
    mock.restoreAll();
    syncBuiltinESMExports();
  }
  assert.ok(reads.some((path) => path.startsWith(DEFAULT_LEXICON_DIR)), `read ${reads.join(', ')}`);
  assert.deepEqual(reads.filter((path) => !path.startsWith(DEFAULT_LEXICON_DIR)), []);
  assert.deepEqual(writes, []);
  assert.equal(DEFAULT_LEXICON_DIR, projectPath('dist', 'lexicons'));
});

test('the images ship the default lexicons: the build context admits dist/lexicons and the runtime stage copies it', () => {
  assert.match(readFileSync(projectPath('.dockerignore'), 'utf8'), /^!dist\/lexicons\/$/m);
  const dockerfile = readFileSync(projectPath('docker', 'Dockerfile'), 'utf8');
  const app = dockerfile.slice(dockerfile.indexOf('AS app\n'), dockerfile.indexOf('FROM node AS cpu'));
  assert.match(app, /^COPY dist\/lexicons \.\/dist\/lexicons$/m);
});
