import type { Extent } from '@nbdkit-ts/core';

/** One block status answer of the layer beneath: the extents it gave for an export, from `start` to `end`. */
export interface CachedAnswer {
  readonly exportName: string;
  readonly start: bigint;
  readonly end: bigint;
  readonly extents: readonly Extent[];
}

/**
 * The last block status answer of the layer beneath, shared by every
 * connection of the server, as nbdkit keeps it.
 *
 * Any write, trim or zero, on any connection, drops it: the allocation it
 * describes may have changed. An answer that was being asked for while a
 * change was under way, or that began before one, is not kept: the layer
 * beneath may have answered from before the change.
 */
export class ExtentsCache {
  private answer: CachedAnswer | undefined;
  /** Changes under way. */
  private changing = 0;
  /** Counts the starts and ends of changes: an answer is kept only when it did not move while the answer was asked for. */
  private epoch = 0;

  /** The answer that covers `offset` of `exportName`, if the cache holds one. */
  lookup(exportName: string, offset: bigint): CachedAnswer | undefined {
    const a = this.answer;
    if (a === undefined || a.exportName !== exportName || offset < a.start || offset >= a.end) return undefined;
    return a;
  }

  /** Marks the time an answer is asked for: pass what it returns to {@link keep}. */
  asking(): number {
    return this.epoch;
  }

  /** Keeps `answer`, asked for at `since`, unless a change was under way or began since then. Returns whether it was kept. */
  keep(answer: CachedAnswer, since: number): boolean {
    if (this.changing > 0 || this.epoch !== since || answer.extents.length === 0) return false;
    this.answer = answer;
    return true;
  }

  /** A write, trim or zero begins: the answer held is dropped. */
  changeBegins(): void {
    this.changing++;
    this.epoch++;
    this.answer = undefined;
  }

  /** A change ended (whether it succeeded or failed). */
  changeEnds(): void {
    this.changing--;
    this.epoch++;
  }
}
