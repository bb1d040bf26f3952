import { setImmediate as turn } from 'node:timers/promises';
import type { Backend, Logger, MaybePromise, Mutex, Next } from '@nbdkit-ts/core';
import type { Settings } from './settings.js';

/** Cache requests the scan keeps in flight when the layers beneath are parallel. */
const PARALLEL_REQUESTS = 4;

/**
 * The scan of one export: cache requests from the start of the export to its
 * end, on a shared context of its own, run as a background task. Clients
 * move it: a read beyond it moves it past the read (scan-ahead), and with
 * scan-clock=false the first client after none starts it over.
 */
export class Scanner {
  /** The next offset to prefetch. */
  private position = 0n;
  /** Ends the wait of a finished scan for {@link restart}. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly settings: Settings,
    /** The export scanned, resolved. */
    readonly exportName: string,
    /**
     * Taken around every call beneath when the layers beneath take one
     * request at a time in the whole server; the filter's handles take it too.
     */
    private readonly lock: Mutex | undefined,
  ) {}

  /** A client read up to `end`: with scan-ahead, the scan skips what is behind it. */
  readTo(end: bigint): void {
    if (this.settings.ahead && end > this.position) this.position = end;
  }

  /** Starts the scan over from the beginning, even once it has finished. */
  restart(): void {
    this.position = 0n;
    this.wake?.();
  }

  /** Whether the scan and the clients take turns under a lock. */
  get takesTurns(): boolean {
    return this.lock !== undefined;
  }

  /** Runs `call` on the layer beneath, under the lock when there is one. */
  below<T>(call: () => MaybePromise<T>): MaybePromise<T> {
    return this.lock === undefined ? call() : this.lock.run(call);
  }

  /**
   * The background task: opens a shared read-only context on the export,
   * scans it (again and again with scan-forever; once more after each
   * restart with scan-clock=false) until `signal` is aborted, and closes the
   * context. A failed cache request ends the scan with its error.
   */
  async run(backend: Backend, log: Logger, signal: AbortSignal): Promise<void> {
    const next = await backend.open({ shared: true, readonly: true, exportName: this.exportName, signal });
    try {
      if (next.capabilities.canCache === 'none') {
        log.warn(`export "${this.exportName}" beneath cannot cache, not scanning; try adding --filter=cache after this filter`);
        return;
      }
      const requests = backend.concurrency === 'parallel' ? PARALLEL_REQUESTS : 1;
      log.debug(`scanning export "${this.exportName}" (${next.capabilities.size} bytes) in requests of ${this.settings.size}, ${requests} at a time`);
      while (!signal.aborted) {
        await this.pass(next, requests, signal);
        // The signal may have been aborted during the pass.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if (signal.aborted) return;
        log.debug(`scanned export "${this.exportName}" to its end`);
        if (this.settings.forever) this.position = 0n;
        else if (this.settings.clock) return;
        else await this.restarted(signal);
      }
    } finally {
      await next.close();
    }
  }

  /**
   * Scans from the current position to the end with `requests` cache
   * requests in flight; the first failure stops it and is thrown once the
   * requests in flight have ended.
   */
  private async pass(next: Next, requests: number, signal: AbortSignal): Promise<void> {
    const size = next.capabilities.size;
    const step = BigInt(this.settings.size);
    let failure: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (!signal.aborted && failure === undefined && this.position < size) {
        const offset = this.position;
        const count = size - offset < step ? size - offset : step;
        this.position = offset + count;
        try {
          await this.below(() => next.cache(Number(count), offset, 0));
        } catch (error) {
          failure ??= { error };
        }
        // A layer beneath that answers at once must not keep the event loop from clients.
        await turn();
      }
    };
    await Promise.all(Array.from({ length: requests }, worker));
    if (failure !== undefined) throw failure.error;
  }

  /** Waits for {@link restart} or the end of the server. */
  private restarted(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.wake = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      signal.addEventListener('abort', done);
    });
  }
}
