// `bioner-stream evaluate-model`: the model card's quality figures, through the whole pipeline:
// `annotate` then `eval` on each recipe corpus's test split (or devel split; strict on document
// offsets, and UniversalNER's lenient string match), next to the oracle (gold answers through the
// same splitting and grounding), which shows what the pipeline itself loses.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { choice, integer, parseCommandLine, text, UsageError } from '../../src/cli/options.js';
import { MODEL_DTYPES } from '../../src/inference/onnx/decoder-session.js';
import type { Report } from '../../src/evaluation/score.js';
import { projectPath, readJson } from '../../src/project.js';
import { CLI } from '../bench/cli-process.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import { DEFAULT_RECIPE } from './train-command.js';
import { loadRecipe, type SplitSource } from './recipe.js';

const run = promisify(execFile);

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream evaluate-model [options]',
  options: {
    model: text('DIR', 'the model to score (default: the shipped default model)'),
    dtype: choice(MODEL_DTYPES, 'which weights under onnx/ annotate loads (default: annotate\'s own)'),
    recipe: text('FILE', 'which corpora and splits', DEFAULT_RECIPE, 'models/smollm2-135m-bioner/recipe.json'),
    split: choice(['test', 'devel'] as const, 'which split of each corpus', 'test'),
    corpus: text('NAME', 'only this recipe corpus (its guideline name, e.g. NCBI-disease)'),
    documents: integer('the first N documents (sentences for IOB corpora) of each split; 0 for all', 0, { min: 0 }),
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

export async function evaluateModelCommand(argv: string[]): Promise<void> {
  const { values: o } = parseCommandLine(argv, COMMAND_LINE);
  const model = o.model ?? (await ensureDefaultModel());
  const recipe = loadRecipe(o.recipe);
  const guidelines = readJson<Record<string, string[]>>(join(model, 'guidelines.json'));
  const dir = await mkdtemp(join(tmpdir(), 'bioner-evaluate-'));
  const results: CorpusScores[] = [];
  const corpora = recipe.corpora.filter((c) => c[o.split] && (o.corpus === undefined || c.name === o.corpus));
  if (corpora.length === 0) throw new UsageError(`${o.recipe} has no ${o.split} split${o.corpus ? ` for a corpus named ${o.corpus}` : ''}`);

  for (const corpus of corpora) {
    const split = corpus[o.split]!;
    const { format } = split;
    // The oracle backend tells the gold file's format by its extension.
    const gold = join(dir, `${corpus.name}.${format === 'iob' ? 'tsv' : format}`);
    const documents = await writeFirstDocuments(split, o.documents, gold);
    const types = (guidelines[corpus.name] ?? []).join(',');
    const annotate = async (modelSpec: string, out: string, ...options: string[]) => {
      const started = performance.now();
      await cli('annotate', '--input', gold, '--input-format', format, '--model', modelSpec, '--guidelines', corpus.name,
        '--types', types, '--output', out, ...options);
      return (performance.now() - started) / 1000;
    };
    const score = async (pred: string, match: string) =>
      JSON.parse(await cli('eval', '--gold', gold, '--gold-format', format, '--pred', pred, '--match', match, '--json')) as Report;
    const pred = join(dir, `${corpus.name}.jsonl`);
    const seconds = await annotate(model, pred, ...(o.dtype ? ['--dtype', o.dtype] : []));
    await annotate(`oracle:${gold}`, join(dir, `${corpus.name}.oracle.jsonl`));
    results.push({
      corpus: corpus.name, documents, seconds,
      strict: await score(pred, 'strict'),
      lenient: await score(pred, 'lenient'),
      oracle: await score(join(dir, `${corpus.name}.oracle.jsonl`), 'strict'),
    });
    console.error(`${corpus.name}: strict F1 ${results.at(-1)!.strict.overall.f1.toFixed(3)} in ${seconds.toFixed(0)} s`);
  }

  await writeFile(o.out, `${JSON.stringify({ model, dtype: o.dtype, split: o.split, documents: o.documents, results }, null, 2)}\n`);
  console.log(table(results));
}

/**
 * The first `n` blank-line-separated blocks (PubTator documents, IOB sentences) of a split; all
 * when n is 0. A split of folds keeps only its folds' blocks, as the dataset builder does, so
 * JNLPBA's selection fold is scored without the folds it trained on.
 */
async function writeFirstDocuments(source: SplitSource, n: number, out: string): Promise<number> {
  const blocks = (await readFile(source.file, 'utf8')).split(/\r?\n\s*\r?\n/).filter((b) => b.trim() && !/^-DOCSTART-/.test(b.trim()))
    .filter((_, i) => source.folds === undefined || (source.use ?? []).includes(i % source.folds));
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
