import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressWatch } from '../src/consumers/progress-watch.js';

test('a partition stalls from its first uncommitted record until a commit covers what it accepted', () => {
  let now = 1000;
  const watch = new ProgressWatch(() => now);
  watch.accepted(0, 10n);
  now += 500;
  watch.accepted(0, 11n);
  watch.accepted(1, 3n);
  now += 200;
  assert.deepEqual([...watch.stalledMs()], [[0, 700], [1, 200]]);

  watch.committed(0, 11n); // offset 11 still uncommitted: the clock restarts, it does not stop
  now += 100;
  assert.equal(watch.stalledMs().get(0), 100);
  watch.committed(0, 12n);
  now += 10_000;
  assert.equal(watch.stalledMs().has(0), false, 'nothing uncommitted: not stalled, however long idle');

  watch.accepted(0, 12n);
  now += 50;
  assert.equal(watch.stalledMs().get(0), 50, 'an idle partition\'s clock starts at its next record');
  watch.reset();
  assert.equal(watch.stalledMs().size, 0);
});
