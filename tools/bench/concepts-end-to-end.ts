// End to end with concepts: `annotate` then `eval` (strict mentions and concept-level (document,
// id) pairs) on NCBI-disease test and BC5CDR devel, with abbreviation grounding on and off, and
// the time and memory concept linking adds per document: `bioner-stream bench-concepts`.
// `oracle:GOLD` answers each set with its own gold mentions: what the pipeline alone loses.
// The model runs once per set (`annotate --save-answers OUT/SET.answers.jsonl`); the other settings
// replay its answers (`--model replay:`) through the same pipeline, so they differ only in the
// stages after inference. `--model replay` replays an earlier run's answers for every setting:
// after a change to those stages, the figures again without the model.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { integer, list, oneOf, parseCommandLine, text, toggle } from '../../src/cli/options.js';
import { firstDocuments, readCorpus } from '../../src/corpora/index.js';
import type { Document } from '../../src/domain/types.js';
import type { Report } from '../../src/evaluation/score.js';
import { defaultPipelineSettings } from '../../src/cli/common-options.js';
import { assemblePipeline } from '../../src/pipeline/assemble-pipeline.js';
import { conceptLinker } from '../../src/pipeline/concept-lexicons.js';
import { projectPath } from '../../src/project.js';
import { EntityTypes } from '../../src/stages/entity-types.js';
import { CLI } from './cli-process.js';

const SHARED_DATA = (...parts: string[]) => projectPath('..', 'shared', 'data', ...parts);

const SETS: Record<string, { file: string; types: string }> = {
  'ncbi-disease-test': { file: SHARED_DATA('ncbi-disease', 'test.pubtator'), types: 'disease' },
  'bc5cdr-devel': { file: SHARED_DATA('bc5cdr-pubtator', 'devel.pubtator'), types: 'disease,chemical' },
};

/** Stage-cost passes over the documents, alternating with and without linking; each document's fastest counts. */
const STAGE_ROUNDS = 3;

interface Row {
  set: string;
  abbreviation_grounding: 'on' | 'off';
  type: string;
  mention_precision: number;
  mention_recall: number;
  mention_f1: number;
  concept_precision: number;
  concept_recall: number;
  concept_f1: number;
  /** The `annotate` run: the model's for `on`, the replay's for `off`. */
  annotate_seconds: number;
}

interface StageCost {
  set: string;
  documents: number;
  /** Mean per document of `Annotator.annotate` on replayed answers, milliseconds. */
  ms_per_doc_without_linking: number;
  ms_per_doc_with_linking: number;
  /** The difference: what the linking stage itself costs. */
  ms_per_doc_linking: number;
}

const run = async (...args: string[]) => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { maxBuffer: 64 * 2 ** 20 });
  return { stdout, stderr };
};

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream bench-concepts --model DIR|oracle:GOLD|replay [options] [-- annotate options]',
  options: {
    model: text('DIR|oracle:GOLD|replay', "a model; each set's gold answers; or the answers an earlier run saved", { required: true }),
    sets: list('LIST', 'evaluation sets', Object.keys(SETS)),
    documents: integer('the first N documents of each set', 100),
    out: text('DIR', 'outputs and answers (default .cache/concepts-end-to-end/model, or .../oracle)'),
    json: toggle('print the figures as JSON'),
  },
  notes: 'Under node --expose-gc (node --expose-gc bin/bioner-stream.js bench-concepts) memory is measured after collection.',
  positionals: true,
};

export async function conceptsEndToEndCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv, COMMAND_LINE);
  const { documents } = values;
  // The oracle's answers apart, so that they never replace a model's.
  const out = values.out ?? projectPath('.cache', 'concepts-end-to-end', values.model === 'oracle:GOLD' ? 'oracle' : 'model');
  mkdirSync(out, { recursive: true });
  const sets = values.sets.map((name) => ({ name, ...SETS[oneOf(name, Object.keys(SETS), '--sets')]! }));
  const rows: Row[] = [];
  const summaries: string[] = [];
  const answerFiles = new Map<string, string>();
  for (const set of sets) {
    const answers = join(out, `${set.name}.answers.jsonl`);
    const model = values.model === 'oracle:GOLD' ? `oracle:${set.file}` : values.model === 'replay' ? `replay:${answers}` : values.model;
    const record = values.model === 'replay' ? [] : ['--save-answers', answers];
    answerFiles.set(set.name, answers);
    for (const grounding of ['on', 'off'] as const) {
      const output = join(out, `${set.name}.abbreviations-${grounding}.jsonl`);
      const started = performance.now();
      const { stderr } = await run('annotate', '--input', set.file, '--input-format', 'pubtator', '--types', set.types,
        '--documents', String(documents), '--output', output,
        ...(grounding === 'on' ? ['--model', model, ...record] : ['--model', `replay:${answers}`, '--abbreviation-grounding', 'off']),
        ...positionals);
      const seconds = (performance.now() - started) / 1000;
      summaries.push(`${set.name} ${grounding}: ${stderr.trim().split('\n').at(-1)} (${seconds.toFixed(0)} s)`);
      const score = async (match: string) => JSON.parse((await run('eval', '--gold', set.file, '--gold-format', 'pubtator',
        '--documents', String(documents), '--pred', output, '--match', match, '--json')).stdout) as Report;
      const [mentions, concepts] = [await score('strict'), await score('concept')];
      for (const type of [...Object.keys(mentions.byType), 'overall']) {
        const m = type === 'overall' ? mentions.overall : mentions.byType[type]!;
        const c = type === 'overall' ? concepts.overall : concepts.byType[type];
        rows.push({
          set: set.name, abbreviation_grounding: grounding, type,
          mention_precision: m.precision, mention_recall: m.recall, mention_f1: m.f1,
          concept_precision: c?.precision ?? 0, concept_recall: c?.recall ?? 0, concept_f1: c?.f1 ?? 0,
          annotate_seconds: seconds,
        });
      }
    }
  }

  const memory = await lexiconMemory();
  const costs: StageCost[] = [];
  for (const set of sets) {
    const corpus = firstDocuments(await readCorpus(set.file, 'pubtator'), documents);
    costs.push(await stageCost(set.name, corpus.documents, answerFiles.get(set.name)!, set.types.split(',')));
  }

  if (values.json) console.log(JSON.stringify({ model: values.model, documents, rows, annotate: summaries, stage_cost: costs, memory }, null, 2));
  else {
    console.log(`model ${values.model}, first ${documents} documents of each set`);
    for (const s of summaries) console.log(s);
    console.log('set                abbrev  type        mention P   R      F1    concept P   R      F1');
    for (const r of rows) {
      const f = (x: number) => x.toFixed(4);
      console.log(`${r.set.padEnd(18)} ${r.abbreviation_grounding.padEnd(6)}  ${r.type.padEnd(10)}  ${f(r.mention_precision)} ${f(r.mention_recall)} ${f(r.mention_f1)}  ${f(r.concept_precision)} ${f(r.concept_recall)} ${f(r.concept_f1)}`);
    }
    console.log('concept linking, per document on replayed answers (ms): without / with / linking');
    for (const c of costs) {
      console.log(`${c.set.padEnd(18)} ${c.documents} docs  ${c.ms_per_doc_without_linking.toFixed(3)} / ${c.ms_per_doc_with_linking.toFixed(3)} / ${c.ms_per_doc_linking.toFixed(3)}`);
    }
    console.log(`default lexicons with their n-gram indexes: loaded in ${memory.lexicon_load_seconds.toFixed(2)} s, ` +
      `RSS +${memory.rss_added_mb.toFixed(1)} MB, heap +${memory.heap_added_mb.toFixed(1)} MB`);
  }
}

/**
 * The pipeline on the model's saved answers, with and without concept linking, one document at
 * a time: only linking differs, so the difference in time is the stage's.
 */
async function stageCost(set: string, documents: Document[], answers: string, types: string[]): Promise<StageCost> {
  const pipelines = await Promise.all(['none', 'default'].map((lexicons) => assemblePipeline({
    ...defaultPipelineSettings(`replay:${answers}`, types),
    lexicons,
    // No batch wait: a document's sentences go at once, so the timing is the stages', not the batcher's.
    queryBatches: { size: 256, waitMs: 0, inFlight: 1 },
  })));
  const fastest = pipelines.map(() => documents.map(() => Infinity));
  for (let round = 0; round < STAGE_ROUNDS; round++) {
    for (const s of round % 2 === 0 ? [0, 1] : [1, 0]) {
      for (const [d, document] of documents.entries()) {
        const started = performance.now();
        await pipelines[s]!.annotator.annotate(document);
        fastest[s]![d] = Math.min(fastest[s]![d]!, performance.now() - started);
      }
    }
  }
  await Promise.all(pipelines.map((p) => p.close()));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const [without, withLinking] = fastest.map(mean) as [number, number];
  return { set, documents: documents.length, ms_per_doc_without_linking: without, ms_per_doc_with_linking: withLinking, ms_per_doc_linking: withLinking - without };
}

/**
 * In this process, which has loaded no model: what the default lexicons and their n-gram
 * indexes (built here, not on the first fuzzy match) add to its memory.
 */
async function lexiconMemory() {
  const [rssBefore, heapBefore] = [rssMb(), heapMb()];
  const loadStarted = performance.now();
  const linker = (await conceptLinker('default', EntityTypes.load()))!.prepare();
  const lexicon_load_seconds = (performance.now() - loadStarted) / 1000;
  const memory = { lexicon_load_seconds, rss_added_mb: rssMb() - rssBefore, heap_added_mb: heapMb() - heapBefore };
  // Still referenced while measured, so the collection above cannot take it.
  return linker && memory;
}

// With --expose-gc, collected first: what stays, not what is yet to be collected.
function rssMb(): number {
  globalThis.gc?.();
  return process.memoryUsage().rss / 2 ** 20;
}

function heapMb(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}
