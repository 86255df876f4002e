// The one backoff rule for every retry loop (publishing, annotating, inference servers): retry n
// waits base·2ⁿ, capped; with `random`, a random time below that ("full jitter"), so clients
// that failed together do not come back together.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Backoff {
  baseMs: number;
  capMs: number;
  /** Jitter source in [0, 1); none: the full wait. */
  random?: () => number;
}

/** How long retry `retry` (0 for the first) waits. */
export function backoffMs(retry: number, { baseMs, capMs, random }: Backoff): number {
  const wait = Math.min(capMs, baseMs * 2 ** Math.min(retry, 52));
  return random ? random() * wait : wait;
}

/** Waits as retry `retry` should; an abort ends the wait with the signal's reason. */
export function backOff(retry: number, backoff: Backoff, signal?: AbortSignal): Promise<void> {
  return sleep(backoffMs(retry, backoff), undefined, signal ? { signal } : undefined);
}
