import { errorMessage, type Logger, type Next } from '@nbdkit-ts/core';
import type { Range } from './window.js';

/** The most one prefetch call asks for: the range is cut into calls of this size, which run at once. */
const CALL_SIZE = 1 << 20;

/**
 * Sends a connection's prefetches beneath (NBD_CMD_CACHE) without waiting
 * for them: they run while the client's reads go on. A failed prefetch is
 * logged (the first of a run of failures as a warning) and the reads are
 * not affected. {@link settle} waits for the prefetches still in flight.
 */
export class Prefetcher {
  private readonly inFlight = new Set<Promise<void>>();
  private failing = false;
  private closing = false;

  constructor(
    private readonly next: Next,
    private readonly log: Logger,
    /** Called when a prefetch fails, so that the window closes. */
    private readonly failed: () => void,
  ) {}

  /** Starts prefetching `range`. */
  start(range: Range): void {
    if (this.closing) return;
    for (let from = range.from; from < range.to; from += BigInt(CALL_SIZE)) {
      const count = Number(range.to - from < BigInt(CALL_SIZE) ? range.to - from : BigInt(CALL_SIZE));
      const call = this.prefetch(count, from);
      this.inFlight.add(call);
      void call.finally(() => this.inFlight.delete(call));
    }
  }

  /** Stops starting prefetches and waits for those in flight. */
  async settle(): Promise<void> {
    this.closing = true;
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private async prefetch(count: number, offset: bigint): Promise<void> {
    try {
      await this.next.cache(count, offset, 0);
      if (this.failing) this.log.info(`prefetching works again (at ${offset})`);
      this.failing = false;
    } catch (e) {
      const message = `prefetch of ${count} bytes at ${offset}: ${errorMessage(e)}; reads go on without it`;
      if (this.failing || this.closing) this.log.debug(message);
      else this.log.warn(message);
      this.failing = true;
      this.failed();
    }
  }
}
