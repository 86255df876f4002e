import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { firstDocuments, readCorpus } from '../src/corpora/index.js';
import type { EntityRecord } from '../src/domain/types.js';
import { CLI, FIXTURES, NCBI_TEST, SHARED_DATA, testModelDir, withoutSharedData } from './support/paths.js';

const SAMPLE = join(FIXTURES, 'ncbi-disease-sample.pubtator');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const readRecords = async (path: string): Promise<EntityRecord[]> =>
  (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('annotate runs real NCBI abstracts through the generated ONNX model', async () => {
  const out = join(await mkdtemp(join(tmpdir(), 'bioner-cli-')), 'out.jsonl');
  const result = await cli('annotate', '--input', SAMPLE, '--input-format', 'pubtator',
    '--model', await testModelDir(), '--types', 'disease', '--output', out, '--max-new-tokens', '12');
  assert.equal(result.code, 0, result.stderr);
  // 5 abstracts, one query per sentence: each answer went through the model and the decoder.
  assert.match(result.stderr, /annotated 5 documents: \d+ entities, \d+ ungrounded, \d+ invalid answers of \d+/);
  const queries = Number(/invalid answers of (\d+)/.exec(result.stderr)![1]);
  assert.ok(queries >= 5 * 5, `expected a query per sentence, got ${queries}`);
  const docs = new Map((await readCorpus(SAMPLE, 'pubtator')).documents.map((d) => [d.id, d]));
  for (const r of await readRecords(out)) assert.equal(docs.get(r.doc_id)!.text.slice(r.start, r.end), r.text);
});

test('annotate with the oracle, then eval --match strict, scores F1 >= 0.99 on NCBI-disease test', { skip: withoutSharedData }, async () => {
  const out = join(await mkdtemp(join(tmpdir(), 'bioner-cli-')), 'oracle.jsonl');
  const annotate = await cli('annotate', '--input', NCBI_TEST, '--input-format', 'pubtator',
    '--model', `oracle:${NCBI_TEST}`, '--types', 'disease', '--output', out);
  assert.equal(annotate.code, 0, annotate.stderr);
  for (const match of ['strict', 'lenient']) {
    const scored = await cli('eval', '--gold', NCBI_TEST, '--gold-format', 'pubtator', '--pred', out, '--match', match, '--json');
    assert.equal(scored.code, 0, scored.stderr);
    const report = JSON.parse(scored.stdout);
    assert.equal(report.overall.fn, 0, 'every gold mention is found');
    assert.ok(report.overall.f1 >= 0.99, `${match} F1 ${report.overall.f1}`);
  }
  // Concepts with the default lexicons (training splits only): see docs/models.md, "Concepts".
  const concepts = JSON.parse((await cli('eval', '--gold', NCBI_TEST, '--gold-format', 'pubtator', '--pred', out, '--match', 'concept', '--json')).stdout);
  assert.ok(concepts.overall.f1 > 0.7 && concepts.overall.f1 < 1, `concept F1 ${concepts.overall.f1}`);
  const table = await cli('eval', '--gold', NCBI_TEST, '--gold-format', 'pubtator', '--pred', out);
  assert.match(table.stdout, /^overall\s+0\.\d{4}\s+1\.0000\s+0\.99\d\d\s+960\s+\d+\s+0$/m);
  const against = await cli('eval', '--gold', NCBI_TEST, '--gold-format', 'pubtator', '--pred', out, '--baseline', out);
  assert.match(against.stdout, /^against --baseline: F1 (0\.99\d\d) vs \1, difference \+0\.0000 \(95 % paired bootstrap interval over 100 documents, 1000 resamples: \+0\.0000 to \+0\.0000\)$/m);
});

test('annotate --save-answers, then --model replay: with another setting, scored by eval on the same --documents', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-cli-'));
  const [answers, on, off] = ['answers.jsonl', 'on.jsonl', 'off.jsonl'].map((f) => join(dir, f)) as [string, string, string];
  const common = ['--input', SAMPLE, '--input-format', 'pubtator', '--types', 'disease', '--documents', '2'];
  const recorded = await cli('annotate', ...common, '--model', `oracle:${SAMPLE}`, '--save-answers', answers, '--output', on);
  assert.equal(recorded.code, 0, recorded.stderr);
  assert.match(recorded.stderr, /annotated 2 documents/);
  const replayed = await cli('annotate', ...common, '--model', `replay:${answers}`, '--abbreviation-grounding', 'off', '--output', off);
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.deepEqual(new Set((await readRecords(off)).map((r) => r.provenance.model_id)), new Set([`oracle:${SAMPLE}`]));
  const gold = firstDocuments(await readCorpus(SAMPLE, 'pubtator'), 2).mentions;
  for (const pred of [on, off]) {
    const report = JSON.parse((await cli('eval', '--gold', SAMPLE, '--gold-format', 'pubtator', '--documents', '2', '--pred', pred, '--json')).stdout);
    assert.equal(report.overall.fn, 0, 'only the two annotated documents are scored');
    assert.equal(report.overall.tp, gold.length);
  }
  const tooMany = await cli('annotate', ...common.slice(0, -1), '3', '--model', `replay:${answers}`, '--output', off);
  assert.equal(tooMany.code, 1);
  assert.match(tooMany.stderr, /answers\.jsonl has no disease answer for document \d+/);
});

test('PubTator output on BC5CDR reads as the CDR evaluator reads its input: the gold title and abstract lines, then PMID start end mention Type ID', { skip: withoutSharedData }, async () => {
  const gold = join(SHARED_DATA, 'bc5cdr-pubtator', 'devel.pubtator');
  const out = join(await mkdtemp(join(tmpdir(), 'bioner-cli-')), 'out.pubtator');
  // Gold answers without grounding name exactly the gold spans: a scorer would count every one a TP.
  const result = await cli('annotate', '--input', gold, '--input-format', 'pubtator', '--documents', '20', '--model', `oracle:${gold}`,
    '--types', 'chemical,disease', '--abbreviation-grounding', 'off', '--output-format', 'pubtator', '--output', out);
  assert.equal(result.code, 0, result.stderr);
  const goldBlocks = (await readFile(gold, 'utf8')).split(/\n\n+/).slice(0, 20).map((b) => b.split('\n'));
  const blocks = (await readFile(out, 'utf8')).split('\n\n');
  assert.equal(blocks.pop(), '', 'a blank line ends each document');
  assert.equal(blocks.length, 20);
  const goldSpans = new Set<string>();
  const spans = new Set<string>();
  blocks.forEach((block, b) => {
    const [title, abstract, ...annotations] = block.split('\n');
    const [goldTitle, goldAbstract, ...goldAnnotations] = goldBlocks[b]!;
    assert.equal(title, goldTitle);
    assert.equal(abstract, goldAbstract);
    const pmid = title!.slice(0, title!.indexOf('|'));
    const text = `${title!.slice(pmid.length + 3)} ${abstract!.slice(pmid.length + 3)}`;
    for (const line of goldAnnotations) {
      const f = line.split('\t');
      if (f.length >= 6) goldSpans.add([f[0], f[1], f[2], f[4]].join(' '));
    }
    assert.ok(annotations.length > 0);
    for (const line of annotations) {
      const [id, start, end, mention, type, ids, ...rest] = line.split('\t');
      assert.deepEqual(rest, [], line);
      assert.equal(id, pmid);
      assert.match(`${start} ${end}`, /^\d+ \d+$/);
      assert.equal(text.slice(Number(start), Number(end)), mention, line);
      assert.match(type!, /^(Chemical|Disease)$/);
      assert.match(ids!, /^(-1|MESH:[CD]\d+(\|MESH:[CD]\d+)*)$/, line);
      spans.add([id, start, end, type].join(' '));
    }
  });
  assert.deepEqual(spans, goldSpans);
});

test('annotate fails clearly on bad input, an unknown format, a missing model or a malformed lexicon', async () => {
  const badLexicon = join(await mkdtemp(join(tmpdir(), 'bioner-cli-')), 'bad.tsv');
  await writeFile(badLexicon, 'MESH:D1\tname\nno tab here\n');
  const cases: Array<[string[], RegExp]> = [
    [['--input', SAMPLE, '--input-format', 'pubtator', '--model', `oracle:${SAMPLE}`, '--lexicons', `disease=${badLexicon}`],
      /bad\.tsv:2: expected id<TAB>name/],
    [['--input', '/nonexistent.txt', '--input-format', 'text'], /cannot read --input \/nonexistent.txt: no such file or folder/],
    [['--input', SAMPLE, '--input-format', 'xml'], /unknown --input-format "xml"; expected one of: pubtator, iob, jsonl, text/],
    [['--input', SAMPLE, '--input-format', 'pubtator', '--model', '/no/model'], /model not found: \/no\/model/],
    [['--input', SAMPLE, '--input-format', 'iob'], /sample.pubtator:1: /],
  ];
  for (const [args, message] of cases) {
    const result = await cli('annotate', '--model', '/no/model', '--types', 'disease', '--output', '/tmp/x.jsonl', ...args);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, message);
  }
});

test('eval rejects predictions that are not JSON lines, naming the line', async () => {
  const result = await cli('eval', '--gold', SAMPLE, '--gold-format', 'pubtator', '--pred', SAMPLE);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /sample.pubtator:1: not JSON/);
});

const TOOLS = ['import', 'train', 'evaluate-model', 'demo', 'bench', 'bench-serving', 'bench-soak', 'bench-concept-oracle', 'bench-concepts', 'bench-lexicon', 'bench-variants', 'bench-matmul'];

test('every command, the tools too, prints its usage on --help and exits 0', async () => {
  const listed = await cli('--help');
  assert.equal(listed.code, 0, listed.stderr);
  const commands = listed.stdout.split('\n').flatMap((line) => /^ {2}(\S+) {2}/.exec(line)?.[1] ?? []);
  for (const tool of TOOLS) assert.ok(commands.includes(tool), `bioner-stream --help lists ${tool}`);
  await Promise.all(commands.map(async (command) => {
    const help = await cli(command, '--help');
    assert.equal(help.code, 0, `${command} --help: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`^usage: bioner-stream ${command}\\b`), command);
  }));
});

test('a tool called with an unknown option exits 2 with one line that says so', async () => {
  await Promise.all(TOOLS.map(async (tool) => {
    const wrong = await cli(tool, '--no-such-option');
    assert.equal(wrong.code, 2, `${tool} --no-such-option: ${wrong.stderr}`);
    assert.match(wrong.stderr, new RegExp(`^bioner-stream ${tool}: error: Unknown option '--no-such-option'`), tool);
  }));
});
