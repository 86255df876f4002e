// The benchmark's inputs: documents of shared corpora, a fixed-seed sample of each, asked
// about the corpus's entity types.
import { readCorpus, type CorpusFormat } from '../../src/corpora/index.js';
import type { Document, Query } from '../../src/domain/types.js';
import { projectPath } from '../../src/project.js';
import { mulberry32 } from '../../src/seeded-random.js';
import { splitSentences } from '../../src/stages/split-sentences.js';

export interface Workload {
  name: string;
  file: string;
  format: CorpusFormat;
  types: string[];
  /** Documents sampled in a full run and in --quick (JNLPBA's documents are single sentences). */
  documents: { full: number; quick: number };
}

const data = (...parts: string[]) => projectPath('..', 'shared', 'data', ...parts);

export const WORKLOADS: Workload[] = [
  { name: 'ncbi-test', file: data('ncbi-disease', 'test.pubtator'), format: 'pubtator', types: ['disease'], documents: { full: 8, quick: 2 } },
  {
    name: 'bc5cdr-devel', file: data('bc5cdr-pubtator', 'devel.pubtator'), format: 'pubtator',
    types: ['chemical', 'disease'], documents: { full: 4, quick: 1 },
  },
  {
    name: 'jnlpba-test', file: data('jnlpba-iob', 'test.tsv'), format: 'iob',
    types: ['protein', 'dna', 'rna', 'cell_type', 'cell_line'], documents: { full: 32, quick: 8 },
  },
];

/** `count` documents of the corpus drawn without replacement by a seeded shuffle, in corpus order. */
export async function sampleDocuments(workload: Workload, count: number, seed: number): Promise<{ documents: Document[]; population: number }> {
  const corpus = await readCorpus(workload.file, workload.format);
  const random = mulberry32(seed);
  const order = corpus.documents.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const chosen = order.slice(0, count).sort((a, b) => a - b);
  return { documents: chosen.map((i) => corpus.documents[i]!), population: corpus.documents.length };
}

/** The queries the pipeline asks of these documents: each sentence about the workload's types. */
export function queriesOf(workload: Workload, documents: readonly Document[]): Query[] {
  return documents.flatMap((d) => splitSentences(d)).map((sentence) => ({ sentence, types: workload.types }));
}
