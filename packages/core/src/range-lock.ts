interface Held {
  readonly first: number;
  readonly last: number;
  readonly released: Promise<void>;
}

/**
 * A lock per block, taken for a range of blocks at once: a section runs once
 * no other section holds any block of its range. Sections on disjoint
 * ranges run at the same time. For a filter that keeps per-block state
 * (an overlay's copy-up, a cache's fills, write-backs and reclaim) which
 * concurrent requests must never interleave on.
 */
export class RangeLock {
  private readonly held = new Set<Held>();

  /** Runs `section` holding blocks `first` to `last` (inclusive). */
  async run<T>(first: number, last: number, section: () => Promise<T>): Promise<T> {
    for (;;) {
      const waits = [...this.held].filter((h) => h.first <= last && first <= h.last).map((h) => h.released);
      if (waits.length === 0) break;
      await Promise.all(waits);
    }
    let release = (): void => {};
    const held: Held = { first, last, released: new Promise<void>((resolve) => (release = resolve)) };
    this.held.add(held);
    try {
      return await section();
    } finally {
      this.held.delete(held);
      release();
    }
  }
}
