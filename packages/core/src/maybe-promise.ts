/** A value, or a promise of it. Layers may answer synchronously to spare the event loop a promise. */
export type MaybePromise<T> = T | Promise<T>;
