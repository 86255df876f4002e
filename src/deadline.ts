// A timeout that always fires. Node 20's AbortSignal.timeout holds its signal weakly, so an
// AbortSignal.any([..., AbortSignal.timeout(ms)]) that only a listener refers to can be garbage
// collected and never abort (a request then waited past its timeout in CI). Here the timer holds
// the controller strongly until `clear`.

export interface Deadline {
  /** Aborts with a DOMException named TimeoutError after the time, or with the reason of a source signal. */
  readonly signal: AbortSignal;
  /** Stops the timer and lets go of the source signals; call it once the work is done. */
  clear(): void;
}

export function deadline(ms: number, ...sources: AbortSignal[]): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
  const unlinked = new AbortController();
  for (const source of sources) {
    if (source.aborted) controller.abort(source.reason);
    else source.addEventListener('abort', () => controller.abort(source.reason), { once: true, signal: unlinked.signal });
  }
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      unlinked.abort();
    },
  };
}
