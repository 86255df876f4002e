// `annotate` in and out: pipes, folders, text and lines, IOB and brat; progress per answer; what
// a signal leaves; and every mistake in a call refused in one line with exit code 2.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ProgressBar } from '../src/cli/progress.js';
import { parseBiocXml, parseIob, readCorpus } from '../src/corpora/index.js';
import type { EntityRecord } from '../src/domain/types.js';
import { defaultPipelineSettings } from '../src/cli/common-options.js';
import { assemblePipeline } from '../src/pipeline/assemble-pipeline.js';
import { answersNeeded } from '../src/pipeline/annotator.js';
import { CLI, FIXTURES, testModelDir } from './support/paths.js';

const SAMPLE = join(FIXTURES, 'ncbi-disease-sample.pubtator');
const ORACLE = ['--model', `oracle:${SAMPLE}`, '--types', 'disease'];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `bioner-stream ARGS` with `stdin` as its standard input. */
function cli(args: string[], stdin = ''): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? (error as { code: number }).code : 0, stdout, stderr }));
    child.stdin!.end(stdin);
  });
}

const tempDir = () => mkdtemp(join(tmpdir(), 'bioner-annotate-io-'));
const records = (jsonl: string): EntityRecord[] => jsonl.split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('text and lines from standard input to JSON lines on standard output; the summary on stderr', async () => {
  // Gold answers for the documents standard input becomes: `stdin`, or `stdin:LINE` a line.
  const sentence = 'Crohn disease is rare.';
  const gold = join(await tempDir(), 'stdin.pubtator');
  await writeFile(gold, ['stdin', 'stdin:2', 'stdin:4'].map((id) => `${id}|t|${sentence}\n${id}|a|\n${id}\t0\t13\tCrohn disease\tDisease\t-1\n`).join('\n'));
  const oracle = ['--model', `oracle:${gold}`, '--types', 'disease'];
  const text = await cli(['annotate', '--input', '-', '--input-format', 'text', '--output', '-', ...oracle], sentence);
  assert.equal(text.code, 0, text.stderr);
  assert.deepEqual(records(text.stdout).map((r) => [r.doc_id, r.text]), [['stdin', 'Crohn disease']]);
  assert.match(text.stderr, /annotated 1 documents: 1 entities, .* → standard output$/m);

  const lines = await cli(['annotate', '--input', '-', '--input-format', 'lines', '--output', '-', ...oracle], `\n${sentence}\n\n${sentence}\n`);
  assert.equal(lines.code, 0, lines.stderr);
  assert.deepEqual(records(lines.stdout).map((r) => [r.doc_id, r.text]), [['stdin:2', 'Crohn disease'], ['stdin:4', 'Crohn disease']]);
});

test('a folder is read in name order, each text file one document named by its file; an empty one is a warning', async () => {
  const dir = await tempDir();
  const input = join(dir, 'notes');
  await mkdir(input);
  await writeFile(join(input, 'b.txt'), 'Second.');
  await writeFile(join(input, 'a.txt'), 'First.');
  await writeFile(join(input, 'c.txt'), '');
  await writeFile(join(input, '.hidden'), 'left out');
  const result = await cli(['annotate', '--input', input, '--input-format', 'text', '--output', '-', '--output-format', 'pubtator', ...ORACLE]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.split('\n').filter((l) => l.includes('|t|')), ['a|t|First.', 'b|t|Second.', 'c|t|']);
  assert.match(result.stderr, /^warning: 1 empty documents, written with no entities: c$/m);
});

test('IOB output reads back through the IOB reader with the same entities, in order', async () => {
  const dir = await tempDir();
  const [jsonl, iob] = [join(dir, 'out.jsonl'), join(dir, 'out.iob')];
  const common = ['annotate', '--input', SAMPLE, '--input-format', 'pubtator', ...ORACLE];
  assert.equal((await cli([...common, '--output', jsonl])).code, 0);
  const written = await cli([...common, '--output', iob, '--output-format', 'iob']);
  assert.equal(written.code, 0, written.stderr);
  const expected = records(await readFile(jsonl, 'utf8')).sort((a, b) => a.doc_id.localeCompare(b.doc_id) || a.start - b.start);
  const readBack = parseIob(await readFile(iob, 'utf8'), iob);
  assert.equal(readBack.documents.length >= 5 * 5, true, 'a document per sentence');
  // Tokens are cut at every entity boundary, so each entity reads back whole: its text with
  // spaces between tokens. The oracle's NCBI entities do not overlap.
  const squeeze = (s: string) => s.replace(/\s+/g, '');
  const order = new Map((await readCorpus(SAMPLE, 'pubtator')).documents.map((d, i) => [d.id, i]));
  expected.sort((a, b) => order.get(a.doc_id)! - order.get(b.doc_id)! || a.start - b.start);
  assert.deepEqual(readBack.mentions.map((m) => [m.type, squeeze(m.text)]), expected.map((e) => ['Disease', squeeze(e.text)]));
  assert.doesNotMatch(written.stderr, /warning/);
});

test('brat output: a .txt with the text and an .ann whose offsets give each entity, per document', async () => {
  const dir = await tempDir();
  const out = join(dir, 'brat');
  const result = await cli(['annotate', '--input', SAMPLE, '--input-format', 'pubtator', ...ORACLE, '--output', out, '--output-format', 'brat']);
  assert.equal(result.code, 0, result.stderr);
  const documents = (await readCorpus(SAMPLE, 'pubtator')).documents;
  assert.deepEqual((await readdir(out)).sort(), documents.flatMap((d) => [`${d.id}.ann`, `${d.id}.txt`]).sort());
  let entities = 0;
  for (const document of documents) {
    const text = await readFile(join(out, `${document.id}.txt`), 'utf8');
    assert.equal(text, document.text);
    for (const line of (await readFile(join(out, `${document.id}.ann`), 'utf8')).split('\n').filter((l) => l.startsWith('T'))) {
      const [, typeAndSpan, mention] = line.split('\t');
      const [type, start, end] = typeAndSpan!.split(' ');
      assert.equal(type, 'Disease');
      assert.equal(text.slice(Number(start), Number(end)), mention);
      entities++;
    }
  }
  assert.equal(entities, Number(/(\d+) entities/.exec(result.stderr)![1]));
});

test('progress counts (sentence, type) answers as they come, inside one document too', async () => {
  const text = (await readCorpus(SAMPLE, 'pubtator')).documents.map((d) => d.text).join(' ');
  const told: number[] = [];
  const pipeline = await assemblePipeline(
    { ...defaultPipelineSettings(`oracle:${SAMPLE}`, ['disease', 'chemical']), lexicons: 'none', queryBatches: { size: 2, waitMs: 1 } },
    { onAnswered: (answers) => told.push(answers) },
  );
  try {
    const document = { id: 'all', source: 'other' as const, text };
    const needed = answersNeeded(document, ['disease', 'chemical']);
    const annotated = await pipeline.annotator.annotate(document);
    assert.equal(needed, annotated.sentence_count * 2);
    assert.ok(told.length > 1, `one document, told ${told.length} times`);
    assert.equal(told.reduce((a, b) => a + b, 0), needed);
  } finally {
    await pipeline.close();
  }
});

test('the progress line: answers done of all, percent, rate and time left; a plain line when not a terminal', () => {
  let written = '';
  const stream = { isTTY: false, write: (s: string) => (written += s) } as unknown as NodeJS.WriteStream;
  const progress = new ProgressBar(10, 'answers', stream, 0);
  progress.advance(4);
  assert.match(written, /^progress: 4\/10 answers \(40\.0%\), [\d.]+ answers\/s, (\d+s left|time left unknown)\n$/);
});

test('SIGINT writes the finished documents, the output closed, and says which are missing; exit code 130', async () => {
  const dir = await tempDir();
  const input = join(dir, 'many.jsonl');
  const text = (await readCorpus(SAMPLE, 'pubtator')).documents[0]!.text;
  await writeFile(input, Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: `d${i}`, text })).join('\n'));
  const child = spawn(process.execPath, [CLI, 'annotate', '--input', input, '--input-format', 'jsonl', '--types', 'disease',
    '--model', await testModelDir(), '--max-new-tokens', '4', '--lexicons', 'none', '--output', '-', '--output-format', 'bioc-xml']);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve) => child.stdout.on('data', (d) => {
    stdout += d;
    if (stdout.includes('</document>')) resolve();
  }));
  child.kill('SIGINT');
  assert.equal(await code, 130, stderr);
  const written = parseBiocXml(stdout, 'stdout').documents;
  const [, done, all, missing, first] = /interrupted: SIGINT: (\d+) of (\d+) documents written to standard output.*missing: the (\d+) from document (\S+)/.exec(stderr)!;
  assert.equal(Number(done), written.length);
  assert.equal(Number(all), 300);
  assert.equal(Number(missing), 300 - written.length);
  assert.equal(first, `d${written.length}`);
  assert.deepEqual(written.map((d) => d.id), written.map((_, i) => `d${i}`));
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
});

test('--save-answers with --resume asks the model only for what the file lacks, so an interrupted run continues', async () => {
  const dir = await tempDir();
  const [answers, partial, full, resumed] = ['answers.jsonl', 'partial.jsonl', 'full.jsonl', 'resumed.jsonl'].map((f) => join(dir, f)) as [string, string, string, string];
  const common = ['annotate', '--input', SAMPLE, '--input-format', 'pubtator', ...ORACLE, '--lexicons', 'none', '--abbreviation-grounding', 'off'];
  assert.equal((await cli([...common, '--save-answers', answers, '--output', full])).code, 0);
  const [header, ...lines] = (await readFile(answers, 'utf8')).trim().split('\n');
  // The answers an interrupted run got, each changed to "none", so that the output shows which were kept.
  const kept = lines.slice(0, lines.length >> 1).map((l) => JSON.parse(l));
  for (const line of kept) line.answer.raw = 'Answer: []';
  const keptLines = kept.map((l) => JSON.stringify(l));
  await writeFile(partial, [header, ...keptLines].join('\n') + '\n');

  const result = await cli([...common, '--save-answers', partial, '--resume', '--output', resumed]);
  assert.equal(result.code, 0, result.stderr);
  const after = (await readFile(partial, 'utf8')).trim().split('\n');
  assert.deepEqual(after.slice(0, keptLines.length + 1), [header, ...keptLines], 'the kept answers stay as they were');
  assert.equal(after.length, lines.length + 1, 'every other answer asked once, none again');
  const inKept = (r: EntityRecord) => kept.some((l) => l.doc_id === r.doc_id && l.start <= r.start && r.end <= l.end);
  const spans = (rs: EntityRecord[]) => rs.map((r) => `${r.doc_id}:${r.start}-${r.end}`);
  const expected = records(await readFile(full, 'utf8')).filter((r) => !inKept(r));
  assert.ok(expected.length > 0);
  assert.deepEqual(spans(records(await readFile(resumed, 'utf8'))), spans(expected));

  await writeFile(partial, `${JSON.stringify({ model_id: 'other@1' })}\n`);
  const other = await cli([...common, '--save-answers', partial, '--resume', '--output', resumed]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /partial\.jsonl:1: answers of other@1, not of oracle:.*; resume with the model that gave them/);
});

test('a long run is announced before the model loads, with how to keep its answers', async () => {
  const dir = await tempDir();
  const input = join(dir, 'long.txt');
  await writeFile(input, 'Crohn disease is rare. '.repeat(3_100));
  const result = await cli(['annotate', '--input', input, '--input-format', 'text', '--types', 'disease', '--model', join(dir, 'no-model'), '--output', join(dir, 'o.jsonl')]);
  const [warning, error] = result.stderr.split('\n');
  assert.match(warning!, /^warning: 1 documents need 3100 answers from the model .* about 10m\d+s\. --documents N .*; --save-answers FILE keeps every answer, and --resume continues/);
  assert.match(error!, /error: model not found/);
});

test('each mistake in a call is one line and exit code 2, before any model loads; a run that still makes sense warns', async () => {
  const dir = await tempDir();
  const files = {
    empty: join(dir, 'empty.txt'), binary: join(dir, 'binary.txt'), latin1: join(dir, 'latin1.txt'), ok: join(dir, 'ok.txt'),
    guided: join(dir, 'guided-model'), pred: join(dir, 'pred.jsonl'), gold: join(dir, 'gold.pubtator'),
  };
  await writeFile(files.empty, '');
  await writeFile(files.binary, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]));
  await writeFile(files.latin1, Buffer.concat([Buffer.from('line one\nna\u00efve: '), Buffer.from([0xef, 0x20])]));
  await writeFile(files.ok, 'Crohn disease.');
  await mkdir(files.guided);
  await writeFile(join(files.guided, 'guidelines.json'), JSON.stringify({ 'NCBI-disease': ['disease'], BC5CDR: ['chemical', 'disease'] }));
  await writeFile(files.pred, `${JSON.stringify({ doc_id: 'elsewhere', start: 0, end: 5, text: 'Crohn', type: 'disease' })}\n`);
  const annotate = (...args: string[]) => ['annotate', '--input', files.ok, '--input-format', 'text', '--output', join(dir, 'o.jsonl'), ...ORACLE, ...args];
  const cases: [string[], RegExp][] = [
    [annotate('--input', files.empty), /--input .*empty\.txt is empty: its documents have no text/],
    [annotate('--input', files.binary), /binary\.txt:1: a NUL byte at byte 4: a binary file, not text/],
    [annotate('--input', files.latin1), /latin1\.txt:2: invalid UTF-8 at byte 17 \(0xef\)/],
    [annotate('--types', 'disease,disease'), /--types: entity type disease asked twice; name each type once/],
    [annotate('--types', 'disease,virus'), /--types: unknown entity type "virus"; known: disease, chemical/],
    [annotate('--model', files.guided, '--guidelines', 'BC2GM'), /--guidelines: unknown guidelines "BC2GM"; this model knows: NCBI-disease, BC5CDR/],
    [annotate('--output', join(dir, 'no', 'o.jsonl')), /--output .*o\.jsonl: no folder .*no$/m],
    [annotate('--output', dir), /--output .* is a folder; --output-format jsonl writes one file/],
    [annotate('--output', '-', '--output-format', 'brat'), /brat writes .* into a folder; --output - cannot hold them/],
    [annotate('--model', join(dir, 'no-model')), /model not found: /],
    [annotate('--resume'), /--resume continues the answers file of --save-answers FILE; name that file/],
    [['serve', '--model', join(dir, 'no-model'), '--types', 'disease,disease'], /--types: entity type disease asked twice/],
    [['eval', '--gold', SAMPLE, '--gold-format', 'pubtator', '--pred', files.pred], /no document of --pred is in --gold \(predicted: elsewhere, \.\.\.; gold: /],
    [['eval', '--gold', SAMPLE, '--gold-format', 'pubtator', '--pred', dir], /--pred .* is a folder/],
    [['eval', '--gold', dir, '--gold-format', 'pubtator', '--pred', files.pred], /binary\.txt:1: a NUL byte/],
  ];
  for (const [args, message] of cases) {
    const result = await cli(args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr.split('\n')[0]!, message);
    assert.match(result.stderr, new RegExp(`^bioner-stream ${args[0]}: error: `));
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }

  // Gold annotations whose offsets do not give their text are skipped, counted, and the rest scored.
  const gold = (await readFile(SAMPLE, 'utf8')).replace(/^(\d+\t\d+\t\d+\t)(\S)/m, '$1X$2');
  await writeFile(files.gold, gold);
  const pred = join(dir, 'oracle.jsonl');
  assert.equal((await cli(['annotate', '--input', SAMPLE, '--input-format', 'pubtator', ...ORACLE, '--output', pred])).code, 0);
  const scored = await cli(['eval', '--gold', files.gold, '--gold-format', 'pubtator', '--pred', pred, '--json']);
  assert.equal(scored.code, 0, scored.stderr);
  assert.match(scored.stderr, /gold\.pubtator:\d+: offsets .* annotation skipped/);
  assert.match(scored.stderr, /warning: 1 problems in --gold \(above\); a skipped annotation is not scored/);
  const whole = JSON.parse((await cli(['eval', '--gold', SAMPLE, '--gold-format', 'pubtator', '--pred', pred, '--json'])).stdout).overall;
  const { tp, fp } = JSON.parse(scored.stdout).overall;
  assert.deepEqual([tp, fp], [whole.tp - 1, whole.fp + 1], 'the skipped gold mention is no longer found, its prediction a false positive');
});
