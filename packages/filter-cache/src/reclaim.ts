import { errorMessage, type Logger } from '@nbdkit-ts/core';
import { State, type BlockStates } from './block-states.js';

/**
 * Keeps the cache under cache-max-size: once more than `high` blocks are
 * cached, evicts blocks until `low` are left, least recently used first (a
 * clock: the hand passes over a block used since its last visit once, and
 * evicts the first one that was not). Runs as a background task.
 */
export class Reclaim {
  private hand = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly states: BlockStates,
    private readonly high: number,
    private readonly low: number,
    /** Evicts a block (writing it back first when dirty); throws when it cannot. */
    private readonly evict: (block: number) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Tells the task that the cache grew. */
  grew(): void {
    if (this.states.cached > this.high) this.wake?.();
  }

  /** The background task: sleeps until the cache grows past `high`, then reclaims. */
  async run(signal: AbortSignal): Promise<void> {
    // One listener for the task's life: a server that reclaims for months adds none per sweep.
    const stop = (): void => this.wake?.();
    signal.addEventListener('abort', stop, { once: true });
    try {
      while (!signal.aborted) {
        if (this.states.cached > this.high) await this.sweep(signal);
        // The signal may have been aborted during the sweep.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if (signal.aborted) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  /** Evicts until `low` blocks are left; stops at the first block that cannot be evicted. */
  private async sweep(signal: AbortSignal): Promise<void> {
    const { states } = this;
    while (states.cached > this.low && !signal.aborted) {
      const block = this.hand;
      this.hand = (block + 1) % states.blocks;
      if (states.get(block) === State.ABSENT || states.takeReference(block)) continue;
      try {
        await this.evict(block);
      } catch (e) {
        this.log.error(`reclaim: block ${block}: ${errorMessage(e)}; trying again when the cache grows`);
        return;
      }
    }
    this.log.debug(`reclaim: ${states.cached} blocks cached`);
  }
}
