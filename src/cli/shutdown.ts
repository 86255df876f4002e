// How commands stop: the long-running ones (run, serve) drain on SIGTERM or SIGINT, bounded in
// time; a batch command (annotate) saves what it finished and exits 130.

/**
 * Calls `drain` on the first signal (or `shutdown(code)`) and exits when it is done; whatever
 * happens, the process is gone 5 s after the drain time. A second signal exits at once.
 */
export function onShutdown(drainMs: number, drain: () => Promise<void>): (code: number) => void {
  let stopping = false;
  const shutdown = (code: number) => {
    if (stopping) return process.exit(code || 1);
    stopping = true;
    setTimeout(() => process.exit(code || 1), drainMs + 5000).unref();
    void drain().then(() => process.exit(code));
  };
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  return shutdown;
}

/** Keeps a command running until onShutdown ends the process. */
export const untilShutdown = (): Promise<never> => new Promise(() => undefined);

/** A command stopped by SIGINT or SIGTERM, after it saved what it had finished: exit code 130. */
export class Interrupted extends Error {}

/** The first SIGINT or SIGTERM from now; after `stop()` (or that signal) a signal acts as usual again, so a second one ends the process at once. */
export function nextSignal(): { signal: Promise<NodeJS.Signals>; stop: () => void } {
  let resolve!: (signal: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const stop = () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
  const listener = (name: NodeJS.Signals) => {
    stop();
    resolve(name);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return { signal, stop };
}
