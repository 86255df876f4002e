import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamicBatcher, QueueFullError, QueueTimeoutError, type DynamicBatcherOptions } from '../src/inference/dynamic-batcher.js';

interface Item {
  key: string;
  id: string;
}

/** A scheduler of 4-item batches, one at a time, that records each batch's items before `answer` runs it. */
function recordingScheduler(answer: (items: Item[]) => Promise<string[]>, options: Partial<DynamicBatcherOptions<Item, string>>) {
  const batches: string[][] = [];
  const s = new DynamicBatcher<Item, string>({
    run: (items) => {
      batches.push(items.map((i) => i.id));
      return answer(items);
    },
    keyOf: (item) => item.key,
    batchSize: 4,
    maxWaitMs: 10_000,
    concurrency: 1,
    ...options,
  });
  return { s, batches };
}

/** A scheduler whose batches finish only when the test releases them, recording each batch's items. */
function scheduler(options: Partial<DynamicBatcherOptions<Item, string>> = {}) {
  const releases: (() => void)[] = [];
  const { s, batches } = recordingScheduler(async (items) => {
    await new Promise<void>((resolve) => releases.push(resolve));
    return items.map((i) => `answer ${i.id}`);
  }, options);
  const release = async () => {
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { s, batches, release };
}

const items = (key: string, prefix: string, n: number): Item[] =>
  Array.from({ length: n }, (_, i) => ({ key, id: `${prefix}${i}` }));

test('a batch goes when it is full, and results come back in submission order', async () => {
  const { s, batches, release } = scheduler();
  const answers = s.submit(items('disease', 'a', 4));
  assert.deepEqual(batches, [['a0', 'a1', 'a2', 'a3']]);
  await release();
  assert.deepEqual(await answers, ['answer a0', 'answer a1', 'answer a2', 'answer a3']);
});

test('a batch that does not fill goes after maxWaitMs', async () => {
  const { s, batches, release } = scheduler({ maxWaitMs: 30 });
  const answers = s.submit(items('disease', 'a', 2));
  assert.deepEqual(batches, []);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(batches, [['a0', 'a1']]);
  await release();
  await answers;
});

test('items of different keys never share a batch', async () => {
  const { s, batches, release } = scheduler({ maxWaitMs: 0, concurrency: 2 });
  const done = Promise.all([s.submit(items('disease', 'd', 2)), s.submit(items('chemical', 'c', 2))]);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(batches, [['d0', 'd1'], ['c0', 'c1']]);
  await release();
  await release();
  await done;
});

test('while the runner is busy, waiting items are bound late, into batches up to batchSize', async () => {
  const { s, batches, release } = scheduler({ maxWaitMs: 0 });
  const first = s.submit(items('disease', 'a', 1));
  const later = [s.submit(items('disease', 'b', 3)), s.submit(items('disease', 'c', 3))];
  assert.equal(s.queued, 6);
  assert.equal(s.running, 1);
  await release();
  assert.equal(batches[1]!.length, 4);
  await release();
  assert.equal(batches[2]!.length, 2);
  await release();
  await Promise.all([first, ...later]);
  assert.equal(s.queued, 0);
});

test('clients take turns within a batch: a flood does not starve a trickle', async () => {
  const { s, batches, release } = scheduler({ maxWaitMs: 0 });
  const busy = s.submit([{ key: 'x', id: 'busy' }], { client: 'other' });
  const flood = s.submit(items('disease', 'f', 12), { client: 'flood' });
  const trickle = s.submit(items('disease', 't', 2), { client: 'trickle' });
  await release();
  assert.deepEqual(batches[1], ['f0', 't0', 'f1', 't1']);
  for (let i = 0; i < 4; i++) await release();
  await Promise.all([busy, flood, trickle]);
});

test('the queue is bounded overall and per client, and refuses a submission whole', async () => {
  // No runner: everything submitted stays waiting.
  const { s } = scheduler({ maxQueued: 6, maxQueuedPerClient: 4, concurrency: 0 });
  void s.submit(items('disease', 'a', 4), { client: 'a' });
  assert.throws(() => s.submit(items('disease', 'x', 1), { client: 'a' }),
    (e: unknown) => e instanceof QueueFullError && e.scope === 'client');
  assert.throws(() => s.submit(items('disease', 'y', 5), { client: 'b' }),
    (e: unknown) => e instanceof QueueFullError && e.scope === 'client');
  void s.submit(items('disease', 'b', 2), { client: 'b' });
  assert.throws(() => s.submit(items('disease', 'c', 1), { client: 'c' }),
    (e: unknown) => e instanceof QueueFullError && e.scope === 'server');
  assert.equal(s.queued, 6);
});

test('an aborted submission withdraws its waiting items and rejects with the reason', async () => {
  const { s, batches, release } = scheduler({ maxWaitMs: 0 });
  const busy = s.submit(items('x', 'busy', 1));
  const controller = new AbortController();
  const aborted = s.submit(items('disease', 'a', 3), { signal: controller.signal });
  const kept = s.submit(items('disease', 'k', 1));
  controller.abort(new Error('client went away'));
  await assert.rejects(aborted, /client went away/);
  assert.equal(s.queued, 1);
  await release();
  assert.deepEqual(batches[1], ['k0']);
  await release();
  await Promise.all([busy, kept]);
});

test('a submission whose items have not all started within its queue timeout is withdrawn', async () => {
  const { s, batches, release } = scheduler({ maxWaitMs: 0, batchSize: 2 });
  const busy = s.submit(items('x', 'busy', 1));
  const late = s.submit(items('disease', 'late', 3), { queueTimeoutMs: 50 });
  await assert.rejects(late, (e: unknown) => e instanceof QueueTimeoutError && /not started within 50 ms/.test(e.message));
  assert.equal(s.queued, 0);
  await release();
  await busy;
  assert.deepEqual(batches, [['busy0']]);
});

test('once all its items have started, a submission runs to the end past its queue timeout', async () => {
  const { s, release } = scheduler({ maxWaitMs: 0 });
  const started = s.submit(items('disease', 'a', 2), { queueTimeoutMs: 20 });
  await new Promise((r) => setTimeout(r, 60));
  await release();
  assert.deepEqual(await started, ['answer a0', 'answer a1']);
});

test('a failed batch rejects its submissions and withdraws their other waiting items', async () => {
  let calls = 0;
  const s = new DynamicBatcher<Item, string>({
    run: async (batch) => {
      calls++;
      if (batch.some((i) => i.id === 'bad0')) throw new Error('model crashed');
      return batch.map((i) => i.id);
    },
    keyOf: (item) => item.key, batchSize: 1, maxWaitMs: 0, concurrency: 1,
  });
  const bad = s.submit([...items('disease', 'bad', 1), ...items('chemical', 'bad-rest', 2)]);
  const good = s.submit(items('gene', 'good', 1));
  await assert.rejects(bad, /model crashed/);
  assert.deepEqual(await good, ['good0']);
  assert.equal(calls, 2);
});

test('drain refuses new items, sends the waiting ones at once, and resolves when all have run', async () => {
  const { s, batches, release } = scheduler({ maxWaitMs: 60_000 });
  const waiting = s.submit(items('disease', 'a', 2));
  const drained = s.drain();
  assert.throws(() => s.submit(items('disease', 'b', 1)), (e: unknown) => e instanceof QueueFullError && e.scope === 'draining');
  assert.deepEqual(batches, [['a0', 'a1']]);
  let finished = false;
  void drained.then(() => (finished = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(finished, false);
  await release();
  await drained;
  assert.deepEqual(await waiting, ['answer a0', 'answer a1']);
});

/** A scheduler whose batches fail whenever they hold the item "bad". */
const failingScheduler = (options: Partial<DynamicBatcherOptions<Item, string>>) => recordingScheduler(async (items) => {
  if (items.some((i) => i.id === 'bad')) throw new Error('cannot answer bad');
  return items.map((i) => `answer ${i.id}`);
}, options);

test('a failed batch is halved down to the item that fails; the other submissions get their results', async () => {
  const { s, batches } = failingScheduler({ isolateFailures: () => true });
  const good = s.submit([{ key: 'k', id: 'a' }, { key: 'k', id: 'b' }]);
  const bad = s.submit([{ key: 'k', id: 'c' }, { key: 'k', id: 'bad' }]);
  assert.deepEqual(await good, ['answer a', 'answer b']);
  await assert.rejects(bad, /cannot answer bad/);
  assert.deepEqual(batches, [['a', 'b', 'c', 'bad'], ['a', 'b'], ['c', 'bad'], ['c'], ['bad']]);
});

test('without isolateFailures, or when it says no, a failed batch fails every submission in it', async () => {
  for (const isolateFailures of [undefined, () => false]) {
    const { s } = failingScheduler({ batchSize: 2, ...(isolateFailures ? { isolateFailures } : {}) });
    const results = await Promise.allSettled([s.submit([{ key: 'k', id: 'a' }]), s.submit([{ key: 'k', id: 'bad' }])]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  }
});
