// End to end with concepts: `annotate` then `eval` (strict mentions and concept-level (document,
// id) pairs) on NCBI-disease test and BC5CDR devel, with abbreviation grounding on and off.
//   node dist/tools/bench/concepts-end-to-end.js --model DIR|oracle:GOLD [--out DIR] [--json] [-- annotate options]
// `oracle:GOLD` answers each set with its own gold mentions: what the pipeline alone loses.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import type { Report } from '../../src/evaluation/score.js';
import { projectPath } from '../../src/project.js';
import { CLI } from './cli-process.js';

const SHARED_DATA = (...parts: string[]) => projectPath('..', 'shared', 'data', ...parts);

const SETS = [
  { name: 'ncbi-disease-test', file: SHARED_DATA('ncbi-disease', 'test.pubtator'), types: 'disease' },
  { name: 'bc5cdr-devel', file: SHARED_DATA('bc5cdr-pubtator', 'devel.pubtator'), types: 'disease,chemical' },
];

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
  annotate_seconds: number;
}

const run = async (...args: string[]) => (await promisify(execFile)(process.execPath, [CLI, ...args], { maxBuffer: 64 * 2 ** 20 })).stdout;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { model: { type: 'string' }, out: { type: 'string', default: projectPath('.cache', 'concepts-end-to-end') }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (!values.model) throw new Error('missing --model DIR|oracle:GOLD');
  mkdirSync(values.out!, { recursive: true });
  const rows: Row[] = [];
  for (const set of SETS) {
    const model = values.model === 'oracle:GOLD' ? `oracle:${set.file}` : values.model;
    for (const grounding of ['on', 'off'] as const) {
      const output = join(values.out!, `${set.name}.abbreviations-${grounding}.jsonl`);
      const started = performance.now();
      await run('annotate', '--input', set.file, '--input-format', 'pubtator', '--model', model, '--types', set.types,
        '--output', output, ...(grounding === 'off' ? ['--no-abbreviation-grounding'] : []), ...positionals);
      const seconds = (performance.now() - started) / 1000;
      const score = async (match: string) =>
        JSON.parse(await run('eval', '--gold', set.file, '--gold-format', 'pubtator', '--pred', output, '--match', match, '--json')) as Report;
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
  if (values.json) console.log(JSON.stringify({ model: values.model, rows }, null, 2));
  else {
    console.log(`model ${values.model}`);
    console.log('set                abbrev  type        mention P   R      F1    concept P   R      F1');
    for (const r of rows) {
      const f = (x: number) => x.toFixed(4);
      console.log(`${r.set.padEnd(18)} ${r.abbreviation_grounding.padEnd(6)}  ${r.type.padEnd(10)}  ${f(r.mention_precision)} ${f(r.mention_recall)} ${f(r.mention_f1)}  ${f(r.concept_precision)} ${f(r.concept_recall)} ${f(r.concept_f1)}`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
