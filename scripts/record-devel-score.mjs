#!/usr/bin/env node
// Adds the pipeline devel score of an adapter's kept weights to its learning curve: a run with
// `--evals-per-run 0` leaves no curve point, and the campaign selects through the pipeline.
//   bash scripts/pipeline-devel.sh NAME MODEL_DIR       (writes .cache/devel-NAME-CORPUS.json)
//   node scripts/record-devel-score.mjs NAME ADAPTER_DIR
// The point is the adapter's `kept` entry plus `devel_pipeline` (micro "all" and each corpus);
// a point already there for the same tokens is replaced. Requires `npm run build`.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { score } from '../dist/src/evaluation/score.js';

const SAMPLE = 'strict F1 through annotate + eval: first 10 devel abstracts of NCBI-disease and BC5CDR, first 100 devel sentences of JNLPBA (selection fold), AnatEM, BC2GM, LINNAEUS (scripts/pipeline-devel.sh)';

const [name, adapter] = process.argv.slice(2);
if (!name || !adapter) {
  console.error('usage: node scripts/record-devel-score.mjs NAME ADAPTER_DIR');
  process.exit(2);
}

const devel = {};
const all = { tp: 0, fp: 0, fn: 0 };
const files = (await readdir('.cache')).filter((file) => file.startsWith(`devel-${name}-`) && file.endsWith('.json'));
if (files.length === 0) {
  console.error(`no .cache/devel-${name}-*.json: run bash scripts/pipeline-devel.sh ${name} MODEL_DIR first`);
  process.exit(2);
}
for (const file of files) {
  const [result] = JSON.parse(await readFile(join('.cache', file), 'utf8')).results;
  const { tp, fp, fn } = result.strict.overall;
  devel[result.corpus] = { ...score(tp, fp, fn), documents: result.documents };
  all.tp += tp;
  all.fp += fp;
  all.fn += fn;
}

const path = join(adapter, 'training_state.json');
const state = JSON.parse(await readFile(path, 'utf8'));
const point = { ...state.kept, devel_pipeline: { all: score(all.tp, all.fp, all.fn), ...devel }, devel_pipeline_sample: SAMPLE };
state.curve = [...state.curve.filter((p) => p.tokens_total !== point.tokens_total), point];
await writeFile(path, `${JSON.stringify(state, null, 2)}\n`);
console.log(`${path}: run ${point.run} step ${point.step}, ${point.tokens_total} tokens, devel micro F1 ${point.devel_pipeline.all.f1.toFixed(3)} (${all.tp}/${all.fp}/${all.fn})`);
