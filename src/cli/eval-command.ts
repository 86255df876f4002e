// `bioner-stream eval`: micro P/R/F1 of predicted EntityRecords against a gold corpus.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { decodeText } from '../corpora/common.js';
import { firstDocuments } from '../corpora/index.js';
import { FileFormatError } from '../domain/file-format-error.js';
import type { Document, EntityRecord } from '../domain/types.js';
import { pairedBootstrap, type Comparison } from '../evaluation/paired-bootstrap.js';
import { scoreConcepts, scoreLenient, scoreStrict, type Report, type ScoredMention } from '../evaluation/score.js';
import { EntityTypes } from '../stages/entity-types.js';
import { projectPath } from '../project.js';
import { DOCUMENTS } from './common-options.js';
import { readInputCorpus } from './corpus-input.js';
import { choice, parseCommandLine, text, toggle, UsageError } from './options.js';

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream eval --gold FILE|DIR --gold-format pubtator|iob|bioc-xml|bioc-json --pred OUT.jsonl [options]',
  options: {
    gold: text('FILE|DIR', 'the gold corpus: a file, or a folder of files read in name order', { required: true }),
    'gold-format': choice(['pubtator', 'iob', 'bioc-xml', 'bioc-json'] as const, 'how the gold corpus is written', { required: true }),
    pred: text('OUT.jsonl', 'predicted EntityRecords, one JSON per line', { required: true }),
    baseline: text('OTHER.jsonl', "another model's EntityRecords for the same documents: also prints the F1 difference " +
      'with its 95 % paired bootstrap interval over documents'),
    ...DOCUMENTS,
    match: choice(['strict', 'lenient', 'concept'] as const, 'strict: exact (document, type, start, end) match (BioCreative ' +
      "convention); lenient: UniversalNER's normalised string match per sentence and type; concept: the (document, type, " +
      'concept id) pairs each side names (gold ids from the corpus)', 'strict'),
    json: toggle('the report as JSON'),
    'entity-types': text('FILE', 'type vocabulary and corpus label mapping', projectPath('config', 'entity-types.json'), 'config/entity-types.json'),
  },
};

export async function evalCommand(argv: string[]): Promise<void> {
  const { values: args } = parseCommandLine(argv, COMMAND_LINE);
  const { match } = args;
  const corpus = firstDocuments(await readInputCorpus(args.gold, args['gold-format'], '--gold'), args.documents);
  for (const warning of corpus.warnings) console.error(`warning: ${warning}`);
  if (corpus.warnings.length > 0) console.error(`warning: ${corpus.warnings.length} problems in --gold (above); a skipped annotation is not scored`);
  const predicted = await readPredictions(args.pred);
  checkDocumentsInCommon(corpus.documents.map((d) => d.id), predicted);

  const entityTypes = EntityTypes.load(args['entity-types']);
  const gold: ScoredMention[] = corpus.mentions.map((m) => ({ ...m, type: entityTypes.canonical(m.type) }));
  const scoreOf = (documents: Document[], g: ScoredMention[], p: ScoredMention[]): Report =>
    match === 'strict' ? scoreStrict(g, p) : match === 'concept' ? scoreConcepts(g, p) : scoreLenient(documents, g, p);
  const report = scoreOf(corpus.documents, gold, predicted);
  if (args.baseline === undefined) {
    console.log(args.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return;
  }
  const baseline = await readPredictions(args.baseline);
  checkDocumentsInCommon(corpus.documents.map((d) => d.id), baseline);
  const comparison = compare(corpus.documents, gold, predicted, baseline, scoreOf);
  console.log(args.json ? JSON.stringify({ ...report, comparison }, null, 2) : `${formatReport(report)}\n${formatComparison(comparison)}`);
}

/** Each gold document scored alone, for both sides, then resampled as pairs. */
function compare(documents: Document[], gold: ScoredMention[], predicted: ScoredMention[], baseline: ScoredMention[],
  scoreOf: (documents: Document[], g: ScoredMention[], p: ScoredMention[]) => Report): Comparison {
  const byDocument = (mentions: ScoredMention[]) => {
    const map = new Map<string, ScoredMention[]>();
    for (const m of mentions) map.set(m.docId, [...(map.get(m.docId) ?? []), m]);
    return (id: string) => map.get(id) ?? [];
  };
  const [goldOf, predictedOf, baselineOf] = [byDocument(gold), byDocument(predicted), byDocument(baseline)];
  return pairedBootstrap(documents.map((d) => [
    scoreOf([d], goldOf(d.id), predictedOf(d.id)).overall,
    scoreOf([d], goldOf(d.id), baselineOf(d.id)).overall,
  ]));
}

function formatComparison(c: Comparison): string {
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
  return `against --baseline: F1 ${c.f1.toFixed(4)} vs ${c.baselineF1.toFixed(4)}, difference ${signed(c.difference)} ` +
    `(95 % paired bootstrap interval over ${c.documents} documents, ${c.resamples} resamples: ${signed(c.low)} to ${signed(c.high)})`;
}

/** Predictions for no gold document are a mismatch of files, not a score of 0; some outside the gold count as false positives, and are said. */
function checkDocumentsInCommon(goldIds: string[], predicted: ScoredMention[]): void {
  const gold = new Set(goldIds);
  const outside = predicted.filter((m) => !gold.has(m.docId));
  if (predicted.length === 0) console.error('warning: --pred holds no entities');
  else if (outside.length === predicted.length) {
    const some = (ids: Iterable<string>) => [...new Set(ids)].slice(0, 3).join(', ');
    throw new UsageError(`no document of --pred is in --gold (predicted: ${some(predicted.map((m) => m.docId))}, ...; gold: ${some(goldIds)}, ...); ` +
      'are they the same corpus, with the same --documents?');
  } else if (outside.length > 0) {
    console.error(`warning: ${outside.length} predicted entities are in documents --gold does not have; they count as false positives`);
  }
}

async function readPredictions(path: string): Promise<ScoredMention[]> {
  if (!existsSync(path)) throw new UsageError(`cannot read --pred ${path}: no such file`);
  if (statSync(path).isDirectory()) throw new UsageError(`--pred ${path} is a folder; give the JSON lines file annotate wrote`);
  const lines = decodeText(await readFile(path), path).split('\n');
  return lines.flatMap((line, i) => {
    if (line.trim() === '') return [];
    let record: EntityRecord;
    try {
      record = JSON.parse(line) as EntityRecord;
    } catch (error) {
      throw new FileFormatError(path, i + 1, `not JSON: ${(error as Error).message}`);
    }
    // Records written before concept ids existed have no concept_ids.
    const conceptIds = record.concept_ids ?? [];
    return [{ docId: record.doc_id, start: record.start, end: record.end, text: record.text, type: record.type, conceptIds }];
  });
}

function formatReport(report: Report): string {
  const row = (name: string, s: Report['overall']) =>
    [name.padEnd(12), ...[s.precision, s.recall, s.f1].map((x) => x.toFixed(4).padStart(9)),
      ...[s.tp, s.fp, s.fn].map((x) => String(x).padStart(7))].join(' ');
  const header = ['type'.padEnd(12), ...['precision', 'recall', 'f1'].map((h) => h.padStart(9)),
    ...['tp', 'fp', 'fn'].map((h) => h.padStart(7))].join(' ');
  return [`match: ${report.match} (micro)`, header,
    ...Object.entries(report.byType).map(([type, s]) => row(type, s)), row('overall', report.overall)].join('\n');
}
