// The model card's quality figures, through the whole pipeline: `annotate` then `eval` on each
// recipe corpus's test split (strict on document offsets, and UniversalNER's lenient string
// match), next to the oracle (gold answers through the same splitting and grounding), which
// shows what the pipeline itself loses.
//
//   node dist/tools/train/evaluate-model.js [--model DIR] [--recipe FILE] [--documents N] [--out FILE]
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { integer, parseCommandLine, text } from '../../src/cli/options.js';
import type { Report } from '../../src/evaluation/score.js';
import { projectPath, readJson } from '../../src/project.js';
import { CLI } from '../bench/cli-process.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import { DEFAULT_RECIPE } from './train-command.js';
import { loadRecipe, type SplitSource } from './recipe.js';

const run = promisify(execFile);

const COMMAND_LINE = {
  synopsis: 'usage: node dist/tools/train/evaluate-model.js [options]',
  options: {
    model: text('DIR', 'the model to score (default: the shipped default model)'),
    recipe: text('FILE', 'which corpora and test splits', DEFAULT_RECIPE, 'models/smollm2-135m-bioner/recipe.json'),
    documents: integer('the first N documents (sentences for IOB corpora) of each test split; 0 for all', 0, { min: 0 }),
    out: text('FILE', 'the figures as JSON', projectPath('.cache', 'evaluation.json'), '.cache/evaluation.json'),
  },
};

interface CorpusScores {
  corpus: string;
  documents: number;
  seconds: number;
  strict: Report;
  lenient: Report;
  oracle: Report;
}

const { values: o } = parseCommandLine(process.argv.slice(2), COMMAND_LINE);
const model = o.model ?? (await ensureDefaultModel());
const recipe = loadRecipe(o.recipe);
const guidelines = readJson<Record<string, string[]>>(join(model, 'guidelines.json'));
const dir = await mkdtemp(join(tmpdir(), 'bioner-evaluate-'));
const results: CorpusScores[] = [];

for (const corpus of recipe.corpora.filter((c) => c.test)) {
  const format = corpus.test!.format!;
  // The oracle backend tells the gold file's format by its extension.
  const gold = join(dir, `${corpus.name}.${format === 'iob' ? 'tsv' : format}`);
  const documents = await writeFirstDocuments(corpus.test!, o.documents, gold);
  const types = (guidelines[corpus.name] ?? []).join(',');
  const annotate = async (modelSpec: string, out: string) => {
    const started = performance.now();
    await cli('annotate', '--input', gold, '--input-format', format, '--model', modelSpec, '--guidelines', corpus.name,
      '--types', types, '--output', out);
    return (performance.now() - started) / 1000;
  };
  const score = async (pred: string, match: string) =>
    JSON.parse(await cli('eval', '--gold', gold, '--gold-format', format, '--pred', pred, '--match', match, '--json')) as Report;
  const pred = join(dir, `${corpus.name}.jsonl`);
  const seconds = await annotate(model, pred);
  await annotate(`oracle:${gold}`, join(dir, `${corpus.name}.oracle.jsonl`));
  results.push({
    corpus: corpus.name, documents, seconds,
    strict: await score(pred, 'strict'),
    lenient: await score(pred, 'lenient'),
    oracle: await score(join(dir, `${corpus.name}.oracle.jsonl`), 'strict'),
  });
  console.error(`${corpus.name}: strict F1 ${results.at(-1)!.strict.overall.f1.toFixed(3)} in ${seconds.toFixed(0)} s`);
}

await writeFile(o.out, `${JSON.stringify({ model, documents: o.documents, results }, null, 2)}\n`);
console.log(table(results));

/** The first `n` blank-line-separated blocks (PubTator documents, IOB sentences) of a split; all when n is 0. */
async function writeFirstDocuments(source: SplitSource, n: number, out: string): Promise<number> {
  const blocks = (await readFile(source.file, 'utf8')).split(/\r?\n\s*\r?\n/).filter((b) => b.trim() && !/^-DOCSTART-/.test(b.trim()));
  const kept = n > 0 ? blocks.slice(0, n) : blocks;
  await writeFile(out, `${kept.join('\n\n')}\n`);
  return kept.length;
}

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 });
  return stdout;
}

function table(rows: CorpusScores[]): string {
  const f = (x: number) => x.toFixed(3);
  const lines = ['| corpus | docs | type | strict P | strict R | strict F1 | lenient F1 | oracle strict F1 |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    for (const type of [...Object.keys(r.strict.byType), 'overall']) {
      const pick = (report: Report) => (type === 'overall' ? report.overall : report.byType[type]);
      const strict = pick(r.strict);
      if (!strict) continue;
      lines.push(`| ${r.corpus} | ${r.documents} | ${type} | ${f(strict.precision)} | ${f(strict.recall)} | ${f(strict.f1)} | ` +
        `${f(pick(r.lenient)?.f1 ?? 0)} | ${f(pick(r.oracle)?.f1 ?? 0)} |`);
    }
  }
  return lines.join('\n');
}
