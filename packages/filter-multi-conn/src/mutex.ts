import type { MaybePromise } from '@nbdkit-ts/core';

/** Runs sections one at a time, in the order they were asked for. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `section` once every section asked for before it has settled. */
  run<T>(section: () => MaybePromise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
