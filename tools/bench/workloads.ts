// The benchmark's inputs: sentences of a shared corpus, a fixed-seed sample of them, each asked
// about the corpus's entity types.
import { readCorpus, type CorpusFormat } from '../../src/corpora/index.js';
import type { Query } from '../../src/domain/types.js';
import { projectPath } from '../../src/project.js';
import { splitSentences } from '../../src/stages/split-sentences.js';
import { mulberry32 } from '../../src/seeded-random.js';

export interface Workload {
  name: string;
  file: string;
  format: CorpusFormat;
  types: string[];
}

export const WORKLOADS: Workload[] = [
  {
    name: 'jnlpba-devel',
    file: projectPath('..', 'shared', 'data', 'jnlpba-iob', 'devel.tsv'),
    format: 'iob',
    types: ['protein', 'dna', 'rna', 'cell_type', 'cell_line'],
  },
  {
    name: 'ncbi-test',
    file: projectPath('..', 'shared', 'data', 'ncbi-disease', 'test.pubtator'),
    format: 'pubtator',
    types: ['disease'],
  },
];

/** `count` sentences of the corpus drawn without replacement by a seeded shuffle, in corpus order. */
export async function sampleQueries(workload: Workload, count: number, seed: number): Promise<{ queries: Query[]; population: number }> {
  const corpus = await readCorpus(workload.file, workload.format);
  const sentences = corpus.documents.flatMap((d) => splitSentences(d));
  const random = mulberry32(seed);
  const order = sentences.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const chosen = order.slice(0, count).sort((a, b) => a - b);
  return { queries: chosen.map((i) => ({ sentence: sentences[i]!, types: workload.types })), population: sentences.length };
}

