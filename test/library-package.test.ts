// The library as a user gets it: `npm pack`, the tarball installed into a new project, then
// `import { createAnnotator } from 'bioner-stream'`, type-checked and run on a real model.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectPath } from '../src/project.js';
import { NCBI_SAMPLE_OR_TEST, testModelDir } from './support/paths.js';

const run = promisify(execFile);

const CONSUMER = `
import { createAnnotator, type EntityRecord } from 'bioner-stream';

const [model, gold, id, text] = process.argv.slice(2) as [string, string, string, string];
const local = await createAnnotator({ model, types: ['disease'], lexicons: 'none', engine: { threads: 1 } });
const fromText: EntityRecord[] = await local.annotate('Mutations in BRCA1 cause breast cancer.');
await local.close();
const oracle = await createAnnotator({ model: 'oracle:' + gold, types: ['disease'] });
const [fromDocument] = await oracle.annotate([{ id, source: 'pubmed', text }]);
// Documents as they arrive, from an async iterable (a queue, a file being read).
async function* arriving() {
  yield { id, source: 'pubmed' as const, text };
}
const streamed = [];
for await (const annotated of oracle.annotateAll(arriving())) streamed.push(annotated.entities.length);
await oracle.close();
console.log(JSON.stringify({ fromText, fromDocument, streamed }));
`;

test('npm pack, installed elsewhere: createAnnotator is typed and annotates through the one pipeline', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-library-'));
  try {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: projectPath() });
    const tarball = join(dir, stdout.trim().split('\n').at(-1)!);
    const app = join(dir, 'app');
    await run('mkdir', [app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // As this project's own .npmrc: no CUDA download at install time.
    await writeFile(join(app, '.npmrc'), 'ignore-scripts=true\n');
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tarball], { cwd: app, maxBuffer: 16 * 2 ** 20 });

    await writeFile(join(app, 'consumer.ts'), CONSUMER);
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: [], outDir: 'out' },
      files: ['consumer.ts'],
    }));
    await run(process.execPath, [projectPath('node_modules', 'typescript', 'bin', 'tsc'), '-p', app]);

    const gold = (await readFile(NCBI_SAMPLE_OR_TEST, 'utf8')).split('\n');
    const [id, , title] = gold[0]!.split('|');
    const abstract = gold[1]!.split('|')[2]!;
    const text = `${title} ${abstract}`;
    const { stdout: out } = await run(process.execPath, [join(app, 'out', 'consumer.js'), await testModelDir(), NCBI_SAMPLE_OR_TEST, id!, text],
      { cwd: app, maxBuffer: 16 * 2 ** 20 });
    const { fromText, fromDocument, streamed } = JSON.parse(out.trim().split('\n').at(-1)!) as {
      fromText: { text: string; start: number; end: number; type: string }[];
      fromDocument: { text: string; start: number; end: number; type: string; doc_id: string }[];
      streamed: number[];
    };
    // The test model's weights are random: whatever it names is grounded in the text.
    for (const e of fromText) assert.equal('Mutations in BRCA1 cause breast cancer.'.slice(e.start, e.end), e.text);
    // Gold answers through the installed pipeline: entities grounded in the document, linked by the shipped lexicons.
    assert.ok(fromDocument.length > 0, 'the oracle names the gold diseases');
    for (const e of fromDocument) {
      assert.equal(text.slice(e.start, e.end), e.text);
      assert.equal(e.type, 'disease');
      assert.equal(e.doc_id, id);
    }
    assert.deepEqual(streamed, [fromDocument.length]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
