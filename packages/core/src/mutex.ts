import type { MaybePromise } from './maybe-promise.js';

/**
 * An asynchronous lock: sections run one at a time, in the order they were
 * asked for. A section that throws or rejects releases the lock like one
 * that succeeds. For a layer whose state one call changes across an await,
 * or a background task that must keep one call in flight on a layer that
 * serializes (`Backend.concurrency`).
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `section` once every section asked for before it has settled; settles as it does. */
  run<T>(section: () => MaybePromise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
