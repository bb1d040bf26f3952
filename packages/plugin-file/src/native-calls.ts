import { isPromise, type MaybePromise } from '@nbdkit-ts/core';
import type { NativeFileOps } from './native.js';

/**
 * The native calls, loaded once, by the first request that needs them (trim,
 * zero, block status, cache, a block device's size): loading koffi costs
 * about as much CPU as the rest of the server's start-up, and a client that
 * only reads and writes never needs it.
 */
export class NativeCalls {
  private ops: NativeFileOps | undefined;
  private settled = false;
  private loading: Promise<NativeFileOps | undefined> | undefined;

  /** `load` gives the calls, or undefined where they cannot be loaded; it runs once. */
  constructor(private readonly load: () => Promise<NativeFileOps | undefined>) {}

  /** The calls (undefined where they cannot be loaded): at once when loaded, else a promise of them. */
  get(): MaybePromise<NativeFileOps | undefined> {
    if (this.settled) return this.ops;
    return (this.loading ??= this.load().then((ops) => {
      this.ops = ops;
      this.settled = true;
      return ops;
    }));
  }

  /** Runs `use` with the calls: synchronously once they are loaded. */
  with<T>(use: (native: NativeFileOps | undefined) => MaybePromise<T>): MaybePromise<T> {
    const native = this.get();
    return isPromise(native) ? native.then(use) : use(native);
  }
}
