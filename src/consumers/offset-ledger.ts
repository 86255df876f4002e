// Which input offsets may be committed. Records of a partition finish out of order, but offsets
// may only be committed in order: the ledger keeps each partition's accepted offsets and
// releases the finished ones as a prefix, ready to publish. A rebalance starts a new generation;
// work of an older one is never released.

export interface Finished<T> {
  offset: bigint;
  result: T;
}

/** One partition's accepted offsets, released as a finished prefix. */
class PartitionProgress<T> {
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

  /** Finished offsets still waiting for an earlier one. */
  get held(): number {
    return this.finished.size;
  }
}

/** What `accept` hands back, to `finish` the record with. */
export interface Receipt {
  generation: number;
  partition: number;
  offset: bigint;
}

export class OffsetLedger<T> {
  private generation = 0;
  private partitions = new Map<number, PartitionProgress<T>>();
  private ready: Finished<T>[] = [];

  accept(partition: number, offset: bigint): Receipt {
    let progress = this.partitions.get(partition);
    if (!progress) this.partitions.set(partition, (progress = new PartitionProgress()));
    progress.accept(offset);
    return { generation: this.generation, partition, offset };
  }

  /** Records a finished record; false when it belongs to a generation a rebalance ended. */
  finish(receipt: Receipt, result: T): boolean {
    if (!this.isCurrent(receipt.generation)) return false;
    this.ready.push(...this.partitions.get(receipt.partition)!.finish(receipt.offset, result));
    return true;
  }

  isCurrent(generation: number): boolean {
    return generation === this.generation;
  }

  /** Whether released records wait to be published. */
  get hasReady(): boolean {
    return this.ready.length > 0;
  }

  /** The released records, in offset order per partition, with their generation. */
  takeReady(): { entries: Finished<T>[]; generation: number } {
    const entries = this.ready;
    this.ready = [];
    return { entries, generation: this.generation };
  }

  /** Starts a new generation; returns how many finished records it dropped unpublished. */
  rebalanced(): number {
    const dropped = this.ready.length + [...this.partitions.values()].reduce((n, p) => n + p.held, 0);
    this.generation++;
    this.partitions = new Map();
    this.ready = [];
    return dropped;
  }
}
