import type { MaybePromise } from './maybe-promise.js';

/**
 * Lets at most `limit` sections run at once; the others wait their turn, in
 * order. For bounding the calls a layer keeps in flight beneath it (fills,
 * prefetches, requests to a remote store); `Mutex` is the one-at-a-time case.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  /** @param limit The most sections that run at once. */
  constructor(readonly limit: number) {}

  /** Runs `section` once a slot is free; settles as it does. */
  async run<T>(section: () => MaybePromise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await section();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.active--;
      else next();
    }
  }
}
