import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetLedger } from '../src/consumers/offset-ledger.js';

test('the ledger releases a partition\'s finished offsets only as an unbroken prefix', () => {
  const ledger = new OffsetLedger<string>();
  const [a, b, c] = [0n, 1n, 2n].map((offset) => ledger.accept(0, offset));
  const other = ledger.accept(1, 7n);
  assert.ok(ledger.finish(c!, 'c') && ledger.finish(b!, 'b'));
  assert.equal(ledger.hasReady, false, 'offset 0 still runs');
  ledger.finish(other, 'other');
  ledger.finish(a!, 'a');
  assert.deepEqual(ledger.takeReady().entries.map((e) => [e.offset, e.result]), [[7n, 'other'], [0n, 'a'], [1n, 'b'], [2n, 'c']]);
  assert.equal(ledger.hasReady, false);
  ledger.accept(0, 5n);
  assert.throws(() => ledger.accept(0, 4n), /out of order/);
});

test('a rebalance drops what was finished but not published, and refuses work of the old generation', () => {
  const ledger = new OffsetLedger<string>();
  const [a, b, c] = [0n, 1n, 2n].map((offset) => ledger.accept(0, offset));
  ledger.finish(a!, 'a'); // released, not yet published
  ledger.finish(c!, 'c'); // held: offset 1 still runs
  const { generation } = ledger.takeReady();
  ledger.finish(ledger.accept(1, 5n), 'ready');
  assert.equal(ledger.rebalanced(), 2, 'the ready record and the held one');
  assert.equal(ledger.isCurrent(generation), false);
  assert.equal(ledger.finish(b!, 'b'), false, 'the old generation\'s record is not released');
  assert.equal(ledger.hasReady, false);
});
