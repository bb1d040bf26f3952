import type { MaybePromise } from '@nbdkit-ts/core';

interface Section {
  readonly start: bigint;
  readonly end: bigint;
  readonly exclusive: boolean;
  /** Settles (never rejects) when the section has ended. */
  readonly ended: Promise<void>;
}

/**
 * A lock on byte ranges with two modes. Shared sections run alongside each
 * other; an exclusive section runs alone on its range: it waits for every
 * section begun or asked for before it that overlaps its range, and every
 * overlapping section asked for after it waits for it. Sections on
 * disjoint ranges never wait for each other. Sections start in the order
 * they were asked for, so neither mode starves the other.
 *
 * For read-modify-write: the rewrite of a partial block is exclusive on the
 * block, so no other write lands between its read and its write; writes of
 * whole blocks are shared, so they run in parallel with one another.
 */
export class SharedRangeLock {
  /** Sections running or waiting, in the order they were asked for. */
  private readonly sections = new Set<Section>();

  /** Runs `body` on `[start, end)` alongside other shared sections. `onWait` is called when it has to wait. */
  shared<T>(start: bigint, end: bigint, body: () => MaybePromise<T>, onWait?: () => void): Promise<T> {
    return this.run(start, end, false, body, onWait);
  }

  /** Runs `body` alone on `[start, end)`. `onWait` is called when it has to wait. */
  exclusive<T>(start: bigint, end: bigint, body: () => MaybePromise<T>, onWait?: () => void): Promise<T> {
    return this.run(start, end, true, body, onWait);
  }

  private async run<T>(start: bigint, end: bigint, exclusive: boolean, body: () => MaybePromise<T>, onWait?: () => void): Promise<T> {
    // Taken before the first await, so that the order of calls is the order of sections.
    const before = [...this.sections].filter((s) => s.start < end && start < s.end && (exclusive || s.exclusive)).map((s) => s.ended);
    let release = (): void => {};
    const section: Section = { start, end, exclusive, ended: new Promise<void>((resolve) => (release = resolve)) };
    this.sections.add(section);
    try {
      if (before.length > 0) {
        onWait?.();
        await Promise.all(before);
      }
      return await body();
    } finally {
      this.sections.delete(section);
      release();
    }
  }
}
