interface Held {
  readonly first: number;
  readonly last: number;
  readonly released: Promise<void>;
}

/**
 * Locks ranges of blocks: a section runs once no other section holds any
 * block of its range, so fills, write-backs and reclaim never interleave
 * on a block. Sections on disjoint ranges run at the same time.
 */
export class BlockLock {
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
