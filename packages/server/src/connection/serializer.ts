/**
 * Runs async jobs one at a time, in the order they were queued: the lock
 * behind the serialize-* concurrency levels.
 */
export class Serializer {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.catch(() => {});
    return result;
  }
}
