// Stops sending to an endpoint that keeps failing, so requests go where they can succeed instead
// of each waiting out its timeouts; after a cooldown, one trial request finds out if it is back.

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses requests before it lets a trial through. */
  cooldownMs: number;
  now: () => number;
}

export const DEFAULT_BREAKER_OPTIONS: CircuitBreakerOptions = {
  failureThreshold: 5,
  cooldownMs: 5000,
  now: () => Date.now(),
};

/** Half-open: the trial request is out; everything else is refused until it settles. */
type State = { kind: 'closed'; failures: number } | { kind: 'open'; until: number } | { kind: 'half-open' };

export class CircuitBreaker {
  private state: State = { kind: 'closed', failures: 0 };

  constructor(private readonly options: CircuitBreakerOptions = DEFAULT_BREAKER_OPTIONS) {}

  /**
   * Whether a request may go now. Once an open circuit has cooled down, the first caller gets
   * true and carries the trial: it must report `succeeded` or `failed`.
   */
  allowRequest(): boolean {
    switch (this.state.kind) {
      case 'closed':
        return true;
      case 'half-open':
        return false;
      case 'open':
        if (this.options.now() < this.state.until) return false;
        this.state = { kind: 'half-open' };
        return true;
    }
  }

  succeeded(): void {
    this.state = { kind: 'closed', failures: 0 };
  }

  failed(): void {
    const failures = this.state.kind === 'closed' ? this.state.failures + 1 : Infinity;
    this.state = failures >= this.options.failureThreshold
      ? { kind: 'open', until: this.options.now() + this.options.cooldownMs }
      : { kind: 'closed', failures };
  }
}
