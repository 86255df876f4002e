// The flusher's retry rule, with scripted delivery steps: a failed step is retried alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetLedger } from '../src/consumers/offset-ledger.js';
import { OutputFlusher, type Done } from '../src/consumers/output-flusher.js';
import type { SourceRecord } from '../src/domain/records.js';
import { WorkerMetrics } from '../src/observability/metrics.js';
import type { DeliveryStep, OutputPublisher } from '../src/producers/output-publisher.js';

const record = (offset: bigint): SourceRecord => ({ topic: 'in', partition: 0, offset, key: null, value: null, timestamp: 0 });

/** Steps named as at-least-once names them, each failing its first `failures[name]` runs. */
function scriptedPublisher(failures: Record<string, number>) {
  const runs: string[] = [];
  const publisher = {
    deliverySteps: (): DeliveryStep[] => (['send', 'commit'] as const).map((name) => ({
      name,
      run: async () => {
        runs.push(name);
        if ((failures[name] = (failures[name] ?? 0) - 1) >= 0) throw new Error(`${name} refused`);
      },
    })),
    isFatal: () => false,
  } as unknown as OutputPublisher;
  return { publisher, runs };
}

function flusherWith(publisher: OutputPublisher, ledger: OffsetLedger<Done>) {
  const committed: Map<number, bigint>[] = [];
  let flushed = 0;
  const flusher = new OutputFlusher(ledger, publisher, {
    topic: 'in', flushIntervalMs: 1, metrics: new WorkerMetrics(), log: () => undefined, onFatal: (e) => { throw e; },
    onCommitted: (offsets) => committed.push(offsets), onFlushed: (n) => (flushed += n),
  });
  return { flusher, committed, flushed: () => flushed };
}

test('a failed commit is retried alone: the outputs already sent are not sent again', async () => {
  const ledger = new OffsetLedger<Done>();
  for (const offset of [0n, 1n]) ledger.finish(ledger.accept(0, offset), { record: record(offset), outputs: [] });
  const { publisher, runs } = scriptedPublisher({ commit: 2 });
  const { flusher, committed, flushed } = flusherWith(publisher, ledger);
  await flusher.flush();
  assert.deepEqual(runs, ['send', 'commit', 'commit', 'commit']);
  assert.deepEqual(committed, [new Map([[0, 2n]])]);
  assert.equal(flushed(), 2);
});

test('close ends a step\'s retries at once and commits nothing', async () => {
  const ledger = new OffsetLedger<Done>();
  ledger.finish(ledger.accept(0, 0n), { record: record(0n), outputs: [] });
  const { publisher, runs } = scriptedPublisher({ send: Infinity });
  const { flusher, committed } = flusherWith(publisher, ledger);
  const flushing = flusher.flush();
  await new Promise((r) => setTimeout(r, 50));
  flusher.close();
  await flushing;
  assert.ok(runs.every((name) => name === 'send'), 'never committed past a failed send');
  assert.deepEqual(committed, []);
});
