/** A value, or a promise of it. Layers may answer synchronously to spare the event loop a promise. */
export type MaybePromise<T> = T | Promise<T>;

/** Whether a layer answered with a promise (anything with a `then` method) rather than a value. */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * Runs `call`, then `done` however it ended (returned, threw, or its promise
 * settled), and gives back what `call` gave: synchronously when `call`
 * answered synchronously, so a layer that wraps a synchronous layer beneath
 * costs no promise either. What `call` threw or rejected with goes on.
 */
export function afterCall<T>(call: () => MaybePromise<T>, done: () => void): MaybePromise<T> {
  let result: MaybePromise<T>;
  try {
    result = call();
  } catch (e) {
    done();
    throw e;
  }
  if (isPromise(result)) return Promise.resolve(result).finally(done);
  done();
  return result;
}
