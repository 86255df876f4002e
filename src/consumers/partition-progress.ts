// Documents of a partition finish out of order, but offsets may only be committed in order:
// this keeps each partition's accepted offsets and releases the finished ones as a prefix.

export interface Finished<T> {
  offset: bigint;
  result: T;
}

export class PartitionProgress<T> {
  private readonly pending: bigint[] = [];
  private readonly finished = new Map<bigint, T>();

  accept(offset: bigint): void {
    if (this.pending.length > 0 && offset <= this.pending[this.pending.length - 1]!) {
      throw new Error(`offset ${offset} accepted out of order`);
    }
    this.pending.push(offset);
  }

  /** Records a finished offset; returns every finished offset no earlier offset is waiting for. */
  finish(offset: bigint, result: T): Finished<T>[] {
    this.finished.set(offset, result);
    const released: Finished<T>[] = [];
    while (this.pending.length > 0 && this.finished.has(this.pending[0]!)) {
      const next = this.pending.shift()!;
      released.push({ offset: next, result: this.finished.get(next)! });
      this.finished.delete(next);
    }
    return released;
  }

  /** Accepted offsets not yet released. */
  get size(): number {
    return this.pending.length;
  }
}
