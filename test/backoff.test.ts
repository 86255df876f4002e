import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs } from '../src/backoff.js';

test('backoff doubles from the base up to the cap, and full jitter scales it', () => {
  const policy = { baseMs: 100, capMs: 1000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 1000].map((retry) => backoffMs(retry, policy)), [100, 200, 400, 800, 1000, 1000, 1000]);
  assert.equal(backoffMs(3, { ...policy, random: () => 0.5 }), 400);
  assert.equal(backoffMs(0, { ...policy, random: () => 0 }), 0);
});
