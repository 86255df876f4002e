// Whether one model's F1 beats another's beyond the sample: a paired bootstrap over documents
// (Koehn 2004, the usual test between NER systems). Both models are scored on the same resampled
// documents, so what the sample makes easy or hard for both cancels out. Seeded: it repeats.
import { mulberry32 } from '../seeded-random.js';
import { score, type Score } from './score.js';

export interface Comparison {
  documents: number;
  resamples: number;
  f1: number;
  baselineF1: number;
  /** f1 − baselineF1 on the whole sample. */
  difference: number;
  /** The central 95 % of the resampled differences. */
  low: number;
  high: number;
}

type Counts = Pick<Score, 'tp' | 'fp' | 'fn'>;

/** Per-document counts of a model and its baseline; counts add up over documents, as micro F1's do. */
export function pairedBootstrap(perDocument: Array<[Counts, Counts]>, resamples = 1000, seed = 1): Comparison {
  const f1Of = (indices: Iterable<number>, side: 0 | 1) => {
    let tp = 0, fp = 0, fn = 0;
    for (const i of indices) {
      const c = perDocument[i]![side];
      tp += c.tp; fp += c.fp; fn += c.fn;
    }
    return score(tp, fp, fn).f1;
  };
  const all = perDocument.map((_, i) => i);
  const random = mulberry32(seed);
  const differences = Array.from({ length: resamples }, () => {
    const drawn = all.map(() => Math.floor(random() * all.length));
    return f1Of(drawn, 0) - f1Of(drawn, 1);
  }).sort((a, b) => a - b);
  const f1 = f1Of(all, 0);
  const baselineF1 = f1Of(all, 1);
  return {
    documents: all.length,
    resamples,
    f1,
    baselineF1,
    difference: f1 - baselineF1,
    low: differences[Math.floor(0.025 * resamples)]!,
    high: differences[Math.ceil(0.975 * resamples) - 1]!,
  };
}
