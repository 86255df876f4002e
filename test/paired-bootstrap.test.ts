import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairedBootstrap } from '../src/evaluation/paired-bootstrap.js';

type Counts = { tp: number; fp: number; fn: number };

/** n documents' counts: the model's and the baseline's for each. */
const documents = (n: number, model: (i: number) => Counts, baseline: (i: number) => Counts): Array<[Counts, Counts]> =>
  Array.from({ length: n }, (_, i) => [model(i), baseline(i)]);

test('a model that wins on every document wins beyond the sample: the whole interval is above 0', () => {
  const c = pairedBootstrap(documents(50, () => ({ tp: 2, fp: 0, fn: 0 }), () => ({ tp: 1, fp: 0, fn: 1 })));
  assert.equal(c.documents, 50);
  assert.equal(c.f1, 1);
  assert.ok(Math.abs(c.baselineF1 - 2 / 3) < 1e-12, String(c.baselineF1));
  assert.ok(c.low > 0 && c.low <= c.difference && c.difference <= c.high, JSON.stringify(c));
});

test('a win on one document of 50 is within the sample: the interval holds 0', () => {
  const c = pairedBootstrap(documents(50, () => ({ tp: 1, fp: 0, fn: 1 }), (i) => (i === 0 ? { tp: 0, fp: 0, fn: 2 } : { tp: 1, fp: 0, fn: 1 })));
  assert.ok(c.difference > 0 && c.low <= 0 && c.high > 0, JSON.stringify(c));
});

test('the same predictions differ by 0, and a seed repeats its interval', () => {
  const same = documents(30, (i) => ({ tp: i % 3, fp: i % 2, fn: 1 }), (i) => ({ tp: i % 3, fp: i % 2, fn: 1 }));
  assert.deepEqual([pairedBootstrap(same).low, pairedBootstrap(same).high], [0, 0]);
  const mixed = documents(30, (i) => ({ tp: i % 3, fp: i % 2, fn: 1 }), (i) => ({ tp: (i + 1) % 3, fp: 0, fn: 1 }));
  assert.deepEqual(pairedBootstrap(mixed, 500, 7), pairedBootstrap(mixed, 500, 7));
  assert.notDeepEqual(pairedBootstrap(mixed, 500, 7), pairedBootstrap(mixed, 500, 8));
});
