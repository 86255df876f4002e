// `bioner-stream eval`: micro P/R/F1 of predicted EntityRecords against a gold corpus.
import { readFile } from 'node:fs/promises';
import { readCorpus } from '../corpora/index.js';
import type { EntityRecord } from '../domain/types.js';
import { scoreConcepts, scoreLenient, scoreStrict, type Report, type ScoredMention } from '../evaluation/score.js';
import { EntityTypes } from '../stages/entity-types.js';
import { oneOf, parseOptions, required } from './args.js';

const USAGE = `usage: bioner-stream eval --gold FILE --gold-format pubtator|iob|bioc-xml|bioc-json --pred OUT.jsonl
                            [--match strict|lenient|concept] [--json] [--entity-types FILE]

  strict   exact (document, type, start, end) match (BioCreative convention)
  lenient  UniversalNER's normalised string match per sentence and type
  concept  the (document, type, concept id) pairs each side names (gold ids from the corpus)`;

const OPTIONS = {
  gold: { type: 'string' },
  'gold-format': { type: 'string' },
  pred: { type: 'string' },
  match: { type: 'string' },
  json: { type: 'boolean' },
  'entity-types': { type: 'string' },
} as const;

export async function evalCommand(argv: string[]): Promise<void> {
  const args = parseOptions(argv, OPTIONS, USAGE);
  const goldFormat = oneOf(required(args['gold-format'], '--gold-format'), ['pubtator', 'iob', 'bioc-xml', 'bioc-json'] as const, '--gold-format');
  const match = oneOf(args.match ?? 'strict', ['strict', 'lenient', 'concept'] as const, '--match');
  const corpus = await readCorpus(required(args.gold, '--gold'), goldFormat);
  const predicted = await readPredictions(required(args.pred, '--pred'));

  const entityTypes = EntityTypes.load(args['entity-types']);
  const gold: ScoredMention[] = corpus.mentions.map((m) => ({ ...m, type: entityTypes.canonical(m.type) }));
  const report =
    match === 'strict' ? scoreStrict(gold, predicted)
    : match === 'concept' ? scoreConcepts(gold, predicted)
    : scoreLenient(corpus.documents, gold, predicted);
  console.log(args.json ? JSON.stringify(report, null, 2) : formatReport(report));
}

async function readPredictions(path: string): Promise<ScoredMention[]> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  return lines.flatMap((line, i) => {
    if (line.trim() === '') return [];
    let record: EntityRecord;
    try {
      record = JSON.parse(line) as EntityRecord;
    } catch (error) {
      throw new Error(`${path}:${i + 1}: not JSON: ${(error as Error).message}`);
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
