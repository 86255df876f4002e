// Concept normalisation alone, on gold mentions (the oracle): id accuracy per evaluation set, and
// the time and memory the abbreviation + linking stages add per document: `bioner-stream
// bench-concept-oracle`.
import { fraction, list, oneOf, parseCommandLine, text, toggle, UsageError } from '../../src/cli/options.js';
import { readCorpus } from '../../src/corpora/index.js';
import type { Corpus, GoldMention } from '../../src/domain/types.js';
import { conceptLinker } from '../../src/pipeline/concept-lexicons.js';
import { projectPath } from '../../src/project.js';
import { DEFAULT_LINK_THRESHOLD, type ConceptLinker } from '../../src/stages/concepts/concept-linker.js';
import { EntityTypes } from '../../src/stages/entity-types.js';
import { findAbbreviations } from '../../src/stages/find-abbreviations.js';
import { linkConcepts } from '../../src/stages/link-concepts.js';
import type { TypedMention } from '../../src/stages/normalise-entities.js';
import { resolveAbbreviations } from '../../src/stages/resolve-abbreviations.js';
import { splitSentences } from '../../src/stages/split-sentences.js';

interface EvaluationSet {
  file: string;
  type: string;
}

const SHARED_DATA = (...parts: string[]) => projectPath('..', 'shared', 'data', ...parts);

/** Reported sets, and NCBI-disease devel, on which the threshold was chosen. */
export const ORACLE_SETS: Record<string, EvaluationSet> = {
  'ncbi-disease-test': { file: SHARED_DATA('ncbi-disease', 'test.pubtator'), type: 'disease' },
  'bc5cdr-devel-chemical': { file: SHARED_DATA('bc5cdr-pubtator', 'devel.pubtator'), type: 'chemical' },
  'bc5cdr-devel-disease': { file: SHARED_DATA('bc5cdr-pubtator', 'devel.pubtator'), type: 'disease' },
  'ncbi-disease-devel': { file: SHARED_DATA('ncbi-disease', 'devel.pubtator'), type: 'disease' },
};

export interface OracleRow {
  set: string;
  /** Gold mentions with a concept id. */
  mentions: number;
  correct: number;
  /** Mentions the linker gave no concept. */
  unlinked: number;
  accuracy: number;
  /** Share of mentions whose gold ids are all in the lexicon: the ceiling of `accuracy`. */
  coverage: number;
  /** Stage time per document: mean and 95th percentile, milliseconds. */
  ms_per_doc_mean: number;
  ms_per_doc_p95: number;
}

/** Links every gold mention of `type` as the pipeline would (abbreviations, then linking) and scores the ids. */
export function oracleAccuracy(name: string, corpus: Corpus, type: string, linker: ConceptLinker, entityTypes: EntityTypes): OracleRow {
  const byDoc = new Map<string, GoldMention[]>();
  for (const m of corpus.mentions) {
    if (entityTypes.canonical(m.type) !== type) continue;
    byDoc.set(m.docId, [...(byDoc.get(m.docId) ?? []), m]);
  }
  let mentions = 0;
  let correct = 0;
  let unlinked = 0;
  let covered = 0;
  const times: number[] = [];
  for (const document of corpus.documents) {
    const gold = byDoc.get(document.id) ?? [];
    const sentences = splitSentences(document);
    const started = performance.now(); // the stages this adds, after the sentence splitter
    const typed: TypedMention[] = gold.map((m) => ({ mention: m.text, start: m.start, end: m.end, text: m.text, type, sentenceIndex: 0 }));
    // Gold spans only: grounding short forms would add mentions the gold may not have.
    const resolved = resolveAbbreviations(sentences, findAbbreviations(sentences), typed, { groundShortForms: false });
    const linked = linkConcepts(resolved, linker);
    times.push(performance.now() - started);
    gold.forEach((m, i) => {
      if (!m.conceptIds) return;
      mentions++;
      const predicted = linked[i]!.concept?.ids ?? [];
      if (predicted.length === 0) unlinked++;
      if (linker.covers(type, m.conceptIds)) covered++;
      if (sameSet(predicted, m.conceptIds)) correct++;
    });
  }
  times.sort((a, b) => a - b);
  return {
    set: name,
    mentions,
    correct,
    unlinked,
    accuracy: mentions === 0 ? 0 : correct / mentions,
    coverage: mentions === 0 ? 0 : covered / mentions,
    ms_per_doc_mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    ms_per_doc_p95: times[Math.floor(0.95 * (times.length - 1))] ?? 0,
  };
}

const sameSet = (a: string[], b: string[]) => a.length === new Set(b).size && a.every((id) => b.includes(id));

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream bench-concept-oracle [options]',
  options: {
    lexicons: text('SPEC', 'concept lexicons: default, or TYPE=FILE[,TYPE=FILE], as annotate takes them', 'default'),
    threshold: fraction('lowest character-trigram similarity accepted as a concept', DEFAULT_LINK_THRESHOLD),
    sets: list('LIST', `evaluation sets: ${Object.keys(ORACLE_SETS).join(', ')}`, ['ncbi-disease-test', 'bc5cdr-devel-chemical', 'bc5cdr-devel-disease']),
    json: toggle('print the figures as JSON'),
  },
  notes: 'Under node --expose-gc (node --expose-gc bin/bioner-stream.js bench-concept-oracle) the heap is measured after collection.',
};

export async function conceptOracleCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandLine(argv, COMMAND_LINE);
  const entityTypes = EntityTypes.load();
  const heapBefore = heapMb();
  const loadStarted = performance.now();
  const linker = await conceptLinker(values.lexicons, entityTypes, { threshold: values.threshold });
  if (!linker) throw new UsageError('--lexicons none links nothing');
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const rows: OracleRow[] = [];
  for (const name of values.sets) {
    const set = ORACLE_SETS[oneOf(name, Object.keys(ORACLE_SETS), '--sets')]!;
    rows.push(oracleAccuracy(name, await readCorpus(set.file, 'pubtator'), set.type, linker, entityTypes));
  }
  const summary = {
    threshold: values.threshold,
    lexicons: values.lexicons,
    lexicon_load_seconds: loadSeconds,
    // Lexicons, n-gram indexes (built on first fuzzy match) and what linking keeps: the stage's memory.
    heap_added_mb: heapMb() - heapBefore,
    rows,
  };
  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(`lexicons ${summary.lexicons}, threshold ${summary.threshold}: loaded in ${loadSeconds.toFixed(2)} s, heap +${summary.heap_added_mb.toFixed(1)} MB`);
    console.log('set                      mentions  correct  unlinked  accuracy  coverage  ms/doc mean  ms/doc p95');
    for (const r of rows) {
      console.log(
        `${r.set.padEnd(24)} ${String(r.mentions).padStart(8)} ${String(r.correct).padStart(8)} ${String(r.unlinked).padStart(9)}` +
          `  ${r.accuracy.toFixed(4).padStart(8)}  ${r.coverage.toFixed(4).padStart(8)}  ${r.ms_per_doc_mean.toFixed(3).padStart(11)}  ${r.ms_per_doc_p95.toFixed(3).padStart(10)}`,
      );
    }
  }
}

function heapMb(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}
