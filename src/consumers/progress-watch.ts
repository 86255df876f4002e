// How long each partition has gone without committing while it has uncommitted records: the
// signal that a partition is stuck (a record that never finishes, a commit that never succeeds).
export class ProgressWatch {
  private readonly partitions = new Map<number, { lastAccepted: bigint; committedUpTo: bigint; since: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  accepted(partition: number, offset: bigint): void {
    const state = this.partitions.get(partition);
    if (!state) this.partitions.set(partition, { lastAccepted: offset, committedUpTo: offset, since: this.now() });
    else {
      if (!this.waiting(state)) state.since = this.now(); // the clock starts with the first uncommitted record
      state.lastAccepted = offset;
    }
  }

  /** `next` is the committed offset: the next record to consume. */
  committed(partition: number, next: bigint): void {
    const state = this.partitions.get(partition);
    if (!state) return;
    state.committedUpTo = next;
    state.since = this.now();
  }

  /** A rebalance: the partitions' progress starts over with their new assignment. */
  reset(): void {
    this.partitions.clear();
  }

  /** Milliseconds without a commit, by partition, for partitions that have uncommitted records. */
  stalledMs(): Map<number, number> {
    const stalled = new Map<number, number>();
    for (const [partition, state] of this.partitions) {
      if (this.waiting(state)) stalled.set(partition, this.now() - state.since);
    }
    return stalled;
  }

  private waiting(state: { lastAccepted: bigint; committedUpTo: bigint }): boolean {
    return state.lastAccepted >= state.committedUpTo;
  }
}
