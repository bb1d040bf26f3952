/**
 * An asynchronous mutual exclusion lock: `run(fn)` waits for the calls
 * started before it, then runs `fn`. Used around the steps that change
 * allocation metadata (never around plain reads), and around each call to
 * an image that takes one call at a time.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
