import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deadline } from '../src/deadline.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** What becomes of a deadline that only its own abort listener refers to: 'fired' or 'silent'. */
function armUnreferenced(ms: number, sources: AbortSignal[] = []): Promise<'fired' | 'silent'> {
  return new Promise((resolve) => {
    deadline(ms, ...sources).signal.addEventListener('abort', () => resolve('fired'), { once: true });
    setTimeout(() => resolve('silent'), ms + 500);
  });
}

test('a deadline fires even when a garbage collection runs before it is due', async () => {
  const outcome = armUnreferenced(200, [new AbortController().signal]);
  await new Promise((r) => setTimeout(r, 50));
  collectGarbage();
  assert.equal(await outcome, 'fired');
});

test('a deadline aborts with a TimeoutError once due', async () => {
  const { signal } = deadline(20);
  const fired = await new Promise((resolve) => {
    signal.addEventListener('abort', () => resolve(true), { once: true });
    setTimeout(() => resolve(false), 1000);
  });
  assert.ok(fired, 'aborted within a second');
  assert.ok(signal.reason instanceof DOMException);
  assert.equal(signal.reason.name, 'TimeoutError');
});

test('a source signal aborts the deadline with its own reason, before or after it is made', () => {
  const before = new AbortController();
  before.abort(new Error('gone'));
  const aborted = deadline(10_000, before.signal);
  assert.equal(aborted.signal.reason.message, 'gone');
  aborted.clear();

  const later = new AbortController();
  const armed = deadline(10_000, later.signal);
  later.abort(new Error('hung up'));
  assert.equal(armed.signal.reason.message, 'hung up');
  armed.clear();
});

test('clear stops the timer and unlinks the sources', async () => {
  const source = new AbortController();
  const armed = deadline(20, source.signal);
  armed.clear();
  source.abort(new Error('too late'));
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(armed.signal.aborted, false);
});
