import {
  afterCall,
  errorCode,
  errorMessage,
  ExtentList,
  Flag,
  isPromise,
  nbdError,
  type Capabilities,
  type Context,
  type DataMethods,
  type FilterHandle,
  type Flags,
  type MaybePromise,
  type Next,
} from '@nbdkit-ts/core';
import { checks, Mismatch } from './checks.js';
import { formatDelay, wait } from './delay.js';
import type { Settings } from './settings.js';

/** An error as a log line shows it: `EIO: message`. */
export function describeError(e: unknown): string {
  return `${errorCode(e)}: ${errorMessage(e)}`;
}

/** One context opened on the layer beneath, and the requests running on it. */
interface Slot {
  readonly next: Next;
  /** Which open of the connection made it: 1 for the first, one more per attempt since. */
  readonly id: number;
  /** Requests running on it now. */
  users: number;
  /** Replaced by a newer context: closed once its last request is done. */
  retired: boolean;
}

/** One data request, as the retry loop sees it. */
interface Request {
  readonly method: keyof DataMethods;
  readonly flags: Flags;
  /** Throws a Mismatch when the request does not fit the context's capabilities. */
  check(c: Capabilities): void;
  call(next: Next): MaybePromise<void>;
  /** Throws errors that are final (never retried), before each try. */
  refuse?(): void;
}

/**
 * A connection's handle. Requests run on the current context; one that fails
 * (with a code `retry-errors` takes) is retried after a reopen: a new
 * context is opened on the layer beneath, associated with the connection in
 * place of the old one (`context.setNext`), and the old one is closed. One
 * reopen runs at a time per connection; requests that fail meanwhile wait for
 * it and are retried on the new context. Other requests keep flowing.
 */
export class ReopenHandle implements FilterHandle {
  private slot: Slot | undefined;
  private reopening: Promise<void> | undefined;
  /** Opens attempted on this connection, the first one included. */
  private opened: number;
  /** Reopens started (after their delay). */
  private reopens = 0;
  private lastOpenError: unknown;
  /** Retired contexts that still have requests running. */
  private readonly draining = new Set<Slot>();
  private readonly closing = new Set<Promise<void>>();
  /**
   * Open the new context before closing the old one, unless the layers
   * beneath serialize connections: they may not cope with two contexts at
   * once, so the old one is closed first (as nbdkit does).
   */
  private readonly makeBeforeBreak: boolean;

  constructor(
    private readonly context: Context,
    private readonly settings: Settings,
    first: Next,
    opened: number,
  ) {
    this.slot = { next: first, id: opened, users: 0, retired: false };
    this.opened = opened;
    this.makeBeforeBreak = context.backend.concurrency !== 'serialize-connections';
  }

  pread(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.run({
      method: 'pread',
      flags,
      check: (c) => checks.pread(c, buf.length, offset),
      call: (n) => n.pread(buf, offset, flags),
    });
  }

  pwrite(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.run({
      method: 'pwrite',
      flags,
      check: (c) => checks.pwrite(c, buf.length, offset, flags),
      call: (n) => n.pwrite(buf, offset, flags),
      refuse: this.refuseWrites,
    });
  }

  flush(flags: Flags): MaybePromise<void> {
    return this.run({ method: 'flush', flags, check: (c) => checks.flush(c), call: (n) => n.flush(flags) });
  }

  trim(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.run({
      method: 'trim',
      flags,
      check: (c) => checks.trim(c, count, offset, flags),
      call: (n) => n.trim(count, offset, flags),
      refuse: this.refuseWrites,
    });
  }

  zero(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.run({
      method: 'zero',
      flags,
      check: (c) => checks.zero(c, count, offset, flags),
      call: (n) => n.zero(count, offset, flags),
      refuse: () => {
        this.refuseWrites();
        // Asked to fail fast rather than be slow: answer at once, never wait for a reopen.
        if (flags & Flag.FAST_ZERO && this.slot?.next.capabilities.canFastZero !== true) {
          throw nbdError('ENOTSUP', 'fast zero is not possible on the current context');
        }
      },
    });
  }

  extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): MaybePromise<void> {
    return this.run({
      method: 'extents',
      flags,
      check: (c) => checks.extents(c, count, offset),
      // Each try starts from an empty list: a failed try may have added some.
      call: async (n) => {
        const fresh = new ExtentList(offset, extents.end);
        await n.extents(count, offset, flags, fresh);
        for (const e of fresh.extents) extents.add(e.offset, e.length, e.type);
      },
    });
  }

  cache(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.run({
      method: 'cache',
      flags,
      check: (c) => checks.cache(c, count, offset),
      call: (n) => n.cache(count, offset, flags),
    });
  }

  /** Closes the contexts that were replaced and still had requests; the server closes the current one. */
  async close(): Promise<void> {
    for (const slot of [...this.draining]) void this.closeSlot(slot);
    await Promise.all(this.closing);
    this.context.log.debug(`reopens on this connection: ${this.reopens}`);
  }

  private readonly refuseWrites = (): void => {
    if (this.settings.readonlyAfterReopen && this.reopens > 0) {
      throw nbdError('EROFS', 'read-only since the first reopen (retry-readonly)');
    }
  };

  /** The first try, synchronous when the layer beneath answers synchronously; then the retry loop. */
  private run(req: Request): MaybePromise<void> {
    req.refuse?.();
    const slot = this.slot;
    let result: MaybePromise<void>;
    try {
      result = this.attempt(req, slot);
    } catch (e) {
      return this.retry(req, slot, e);
    }
    return isPromise(result) ? result.catch((e: unknown) => this.retry(req, slot, e)) : undefined;
  }

  /** One try of `req` on `slot`. */
  private attempt(req: Request, slot: Slot | undefined): MaybePromise<void> {
    if (slot === undefined) {
      throw new Mismatch('ESHUTDOWN', `no context: the last reopen failed (${describeError(this.lastOpenError)})`);
    }
    req.check(slot.next.capabilities);
    slot.users++;
    return afterCall(
      () => req.call(slot.next),
      () => this.release(slot),
    );
  }

  /** Retries `req`, which failed with `error` on `failedOn`, until it succeeds or must give up. */
  private async retry(req: Request, failedOn: Slot | undefined, error: unknown): Promise<void> {
    const { log, signal } = this.context;
    const { retries } = this.settings;
    let delay = this.settings.delayMs;
    for (let retry = 1; ; retry++) {
      if (!this.retryable(req, failedOn, error) || retry > retries) throw error;
      const where = failedOn === undefined ? 'with no context' : `on context ${failedOn.id}`;
      log.debug(`${req.method} failed ${where}: ${describeError(error)}; retry ${retry} of ${retries}`);
      await this.renew(failedOn, delay, `${req.method} failed ${where} (${describeError(error)})`);
      if (signal.aborted) throw error;
      delay = this.settings.nextDelay(delay);
      req.refuse?.();
      failedOn = this.slot;
      try {
        await this.attempt(req, failedOn);
        return;
      } catch (e) {
        error = e;
      }
    }
  }

  private retryable(req: Request, failedOn: Slot | undefined, error: unknown): boolean {
    if (error instanceof Mismatch) return true;
    const code = errorCode(error);
    if (req.flags & Flag.FAST_ZERO && (code === 'ENOTSUP' || code === 'EOPNOTSUPP')) return false;
    // A request caught on a context that was replaced meanwhile gets a try on the new one.
    if (failedOn !== undefined && failedOn !== this.slot) return true;
    return this.settings.retriesCode(code);
  }

  /**
   * Makes sure the context `failedOn` is replaced: waits for a reopen under
   * way, and starts one unless that already replaced it.
   */
  private async renew(failedOn: Slot | undefined, delayMs: number, cause: string): Promise<void> {
    while (this.reopening !== undefined) await this.reopening;
    if (this.slot !== failedOn) return;
    this.reopening = this.reopen(delayMs, cause).finally(() => (this.reopening = undefined));
    await this.reopening;
  }

  /** Waits, then opens a new context and swaps it in; never throws. */
  private async reopen(delayMs: number, cause: string): Promise<void> {
    const { context } = this;
    const log = context.log;
    log.debug(`reopen after ${formatDelay(delayMs)}: ${cause}`);
    if (!(await wait(delayMs, context.signal))) {
      log.debug('reopen abandoned: the connection is closing');
      return;
    }
    this.reopens++;
    const old = this.slot;
    if (old !== undefined && !this.makeBeforeBreak) {
      this.detach();
      await this.closeSlot(old);
    }
    const id = ++this.opened;
    try {
      const next = await context.backend.open({
        exportName: context.exportName,
        readonly: context.readonly || this.settings.readonlyAfterReopen,
      });
      context.setNext(next);
      this.slot = { next, id, users: 0, retired: false };
      log.debug(`reopen: context ${id} is open (size ${next.capabilities.size})`);
    } catch (e) {
      this.lastOpenError = e;
      this.detach();
      log.debug(`reopen: opening context ${id} failed: ${describeError(e)}; the next request reopens again`);
    }
    if (old !== undefined && this.makeBeforeBreak) this.retire(old);
  }

  /** Leaves the connection with no context. */
  private detach(): void {
    this.context.setNext(undefined);
    this.slot = undefined;
  }

  /** Closes a replaced context once the requests still running on it are done. */
  private retire(slot: Slot): void {
    if (slot.users === 0) {
      void this.closeSlot(slot);
    } else {
      slot.retired = true;
      this.draining.add(slot);
    }
  }

  private release(slot: Slot): void {
    slot.users--;
    if (slot.retired && slot.users === 0) void this.closeSlot(slot);
  }

  private closeSlot(slot: Slot): Promise<void> {
    slot.retired = false;
    this.draining.delete(slot);
    const log = this.context.log;
    const closing = slot.next.close().then(
      () => log.debug(`context ${slot.id} closed`),
      (e: unknown) => log.warn(`closing context ${slot.id}: ${describeError(e)}`),
    );
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
    return closing;
  }
}
