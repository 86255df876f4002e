// How the long-running commands (run, serve) stop: a drain on SIGTERM or SIGINT, bounded in time.

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
