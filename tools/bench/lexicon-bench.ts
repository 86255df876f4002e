// What a big lexicon costs: a synthetic one of N names (default a million, MeSH + NCBI Gene
// scale) is written as a plain TSV, then read, indexed and queried, with time and memory each step.
// With --lexicons SPEC, what the lexicons `--lexicons` names cost a worker instead (e.g. default):
// `bioner-stream bench-lexicon`.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integer, parseCommandLine, text, toggle } from '../../src/cli/options.js';
import { conceptLinker } from '../../src/pipeline/concept-lexicons.js';
import { mulberry32 } from '../../src/seeded-random.js';
import { formatLexiconTsv, readLexiconFile } from '../../src/stages/concepts/lexicon-files.js';
import { Lexicon, type Concept } from '../../src/stages/concepts/lexicon.js';
import { EntityTypes } from '../../src/stages/entity-types.js';

const SYLLABLES = ['al', 'be', 'cor', 'da', 'en', 'fi', 'gan', 'hy', 'in', 'ko', 'lu', 'mer', 'no', 'ox', 'pra', 'qui',
  'ro', 'sul', 'tri', 'ur', 'vi', 'xan', 'yl', 'zo', 'phe', 'thi', 'chlo', 'meth', 'eth', 'prop', 'but', 'ide'];
const HEADS = ['syndrome', 'disease', 'deficiency', 'carcinoma', 'dystrophy', 'acid', 'kinase', 'receptor', 'oxidase', 'protein'];

/** Concepts of one preferred name and `synonyms` synonyms each, with names like real vocabulary ones. */
export function syntheticConcepts(names: number, synonyms = 3, seed = 12): Concept[] {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const word = () => Array.from({ length: 2 + Math.floor(random() * 3) }, () => pick(SYLLABLES)).join('');
  const name = () => `${word()}${random() < 0.5 ? ` ${word()}` : ''} ${pick(HEADS)}${random() < 0.2 ? ` ${1 + Math.floor(random() * 9)}` : ''}`;
  const concepts: Concept[] = [];
  for (let i = 0; concepts.length * (synonyms + 1) < names; i++) {
    concepts.push({ id: `SYN:${i}`, name: name(), synonyms: Array.from({ length: synonyms }, name) });
  }
  return concepts;
}

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream bench-lexicon [options]',
  options: {
    names: integer('names in the synthetic lexicon', 1_000_000),
    lexicons: text('SPEC', 'measure these lexicons instead of a synthetic one, e.g. default'),
    json: toggle('print the figures as JSON'),
  },
  notes: 'Under node --expose-gc (node --expose-gc bin/bioner-stream.js bench-lexicon) memory is measured after collection.',
};

export async function lexiconBenchCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandLine(argv, COMMAND_LINE);
  if (values.lexicons !== undefined) return print(await lexiconsCost(values.lexicons), values.json);
  const { names } = values;
  const dir = mkdtempSync(join(tmpdir(), 'bioner-lexicon-bench-'));
  try {
    const file = join(dir, 'synthetic.tsv');
    const concepts = syntheticConcepts(names);
    writeFileSync(file, formatLexiconTsv(concepts));
    const queries = concepts.slice(0, 2000).map((c) => c.synonyms[0]!);
    const typos = queries.map((q) => q.replace(/[aeiou]/, (v) => (v === 'a' ? 'e' : 'a')));
    concepts.length = 0; // only the file is measured

    const base = memory();
    const timed = <T>(fn: () => T): [T, number] => {
      const started = performance.now();
      const result = fn();
      return [result, (performance.now() - started) / 1000];
    };
    const [read, readSeconds] = timed(() => readLexiconFile(file));
    const afterRead = memory();
    const [lexicon, indexSeconds] = timed(() => new Lexicon(read));
    read.length = 0;
    const afterExact = memory();
    const [, ngramSeconds] = timed(() => lexicon.prepare());
    const afterNgrams = memory();
    const [exactHits, exactSeconds] = timed(() => queries.filter((q) => lexicon.exact(q)).length);
    const [fuzzyHits, fuzzySeconds] = timed(() => typos.filter((q) => (lexicon.nearest(q)?.score ?? 0) >= 0.6).length);
    const result = {
      names: lexicon.size,
      concepts: lexicon.conceptCount,
      file_mb: statSync(file).size / 2 ** 20,
      read_seconds: readSeconds,
      exact_index_seconds: indexSeconds,
      ngram_index_seconds: ngramSeconds,
      heap_mb_after_read: afterRead.heap - base.heap,
      heap_mb_exact_index: afterExact.heap - base.heap,
      heap_mb_with_ngrams: afterNgrams.heap - base.heap,
      // Typed arrays live outside the V8 heap.
      array_buffers_mb_with_ngrams: afterNgrams.arrayBuffers - base.arrayBuffers,
      rss_mb_with_ngrams: afterNgrams.rss,
      exact_us_per_query: (exactSeconds / queries.length) * 1e6,
      exact_hit_rate: exactHits / queries.length,
      fuzzy_ms_per_query: (fuzzySeconds / typos.length) * 1e3,
      fuzzy_hit_rate: fuzzyHits / typos.length,
    };
    print(result, values.json);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The lexicons of `spec` loaded as a worker loads them, their n-gram indexes built up front. */
async function lexiconsCost(spec: string): Promise<Record<string, number | string>> {
  const entityTypes = EntityTypes.load();
  const base = memory();
  const started = performance.now();
  const linker = (await conceptLinker(spec, entityTypes))?.prepare();
  const loaded = memory();
  if (!linker) throw new Error('--lexicons none loads nothing');
  return {
    lexicons: spec,
    load_seconds: (performance.now() - started) / 1000,
    rss_added_mb: loaded.rss - base.rss,
    heap_added_mb: loaded.heap - base.heap,
    array_buffers_added_mb: loaded.arrayBuffers - base.arrayBuffers,
    rss_mb: loaded.rss,
  };
}

function print(result: Record<string, number | string>, json: boolean): void {
  if (json) console.log(JSON.stringify(result, null, 2));
  else for (const [key, value] of Object.entries(result)) console.log(`${key.padEnd(30)} ${typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : value}`);
}

function memory(): { heap: number; arrayBuffers: number; rss: number } {
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed / 2 ** 20, arrayBuffers: usage.arrayBuffers / 2 ** 20, rss: usage.rss / 2 ** 20 };
}
