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
  /** Set once its close began: settles with the close's error, or undefined. */
  closing?: Promise<unknown>;
  /** For a retired context: told the close's outcome once it closed. */
  closed?: (error: unknown) => void;
}

/** How a reopen ended. */
type Outcome =
  /** A new context is associated (or another reopen replaced the failed one meanwhile). */
  | { readonly ok: true }
  /** The open failed; the old context is still associated (unless it had to be closed first). */
  | { readonly ok: false; readonly openError: unknown }
  /** The new context is associated, but closing the old one failed: what it had not written back may be lost. */
  | { readonly ok: false; readonly closeError: unknown };

const OK: Outcome = { ok: true };

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
 * place of the old one (`context.setNext`), and the old one is closed once
 * the requests still running on it are done. An open that fails leaves the
 * old context associated; the request tries another reopen while it has
 * retries left, and then fails with the open's error. A failure to close the
 * old context fails the request that caused the reopen. One reopen runs at
 * a time per connection; requests that fail meanwhile wait for it and are
 * retried on the new context. Other requests keep flowing.
 */
export class ReopenHandle implements FilterHandle {
  private slot: Slot | undefined;
  /** The reopen under way; never rejects. */
  private reopening: Promise<unknown> | undefined;
  /** Opens attempted on this connection, the first one included. */
  private opened: number;
  /** Reopens started (after their delay). */
  private reopens = 0;
  private lastOpenError: unknown;
  /** Retired contexts that still have requests running. */
  private readonly draining = new Set<Slot>();
  private readonly closing = new Set<Promise<unknown>>();
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
    let reopenFailed = false;
    for (let retry = 1; ; retry++) {
      if (retry > retries || (!reopenFailed && !this.retryable(req, failedOn, error))) throw error;
      const where = failedOn === undefined ? 'with no context' : `on context ${failedOn.id}`;
      const what = reopenFailed ? 'reopen failed' : `${req.method} failed ${where}`;
      log.debug(`${what}: ${describeError(error)}; retry ${retry} of ${retries}`);
      const outcome = await this.renew(failedOn, delay, `${what} (${describeError(error)})`);
      if (signal.aborted) throw error;
      delay = this.settings.nextDelay(delay);
      if (!outcome.ok) {
        if ('closeError' in outcome) throw outcome.closeError;
        error = outcome.openError;
        reopenFailed = true;
        continue;
      }
      reopenFailed = false;
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
   * way, and starts one unless that already replaced it. The request that
   * starts a reopen gets its outcome; the others see the context it left.
   */
  private async renew(failedOn: Slot | undefined, delayMs: number, cause: string): Promise<Outcome> {
    while (this.reopening !== undefined) await this.reopening;
    if (this.slot !== failedOn) return OK;
    const reopen = this.reopen(delayMs, cause);
    this.reopening = reopen.finally(() => (this.reopening = undefined));
    return reopen;
  }

  /** Waits, then opens a new context and swaps it in; never throws. */
  private async reopen(delayMs: number, cause: string): Promise<Outcome> {
    const { context } = this;
    const log = context.log;
    log.debug(`reopen after ${formatDelay(delayMs)}: ${cause}`);
    if (!(await wait(delayMs, context.signal))) {
      log.debug('reopen abandoned: the connection is closing');
      return OK;
    }
    this.reopens++;
    const old = this.slot;
    let closeError: unknown;
    if (old !== undefined && !this.makeBeforeBreak) {
      context.setNext(undefined);
      this.slot = undefined;
      closeError = await this.closeSlot(old);
    }
    const id = ++this.opened;
    let next: Next;
    try {
      next = await context.backend.open({
        exportName: context.exportName,
        readonly: context.readonly || this.settings.readonlyAfterReopen,
      });
    } catch (e) {
      this.lastOpenError = e;
      const kept = this.slot === undefined ? 'the connection has no context' : `context ${this.slot.id} stays`;
      log.debug(`reopen: opening context ${id} failed: ${describeError(e)}; ${kept}`);
      return { ok: false, openError: e };
    }
    context.setNext(next);
    this.slot = { next, id, users: 0, retired: false };
    log.debug(`reopen: context ${id} is open (size ${next.capabilities.size})`);
    if (old !== undefined && this.makeBeforeBreak) closeError = await this.retire(old);
    return closeError === undefined ? OK : { ok: false, closeError };
  }

  /** Closes a replaced context once the requests still running on it are done; settles with the close's error. */
  private retire(slot: Slot): Promise<unknown> {
    if (slot.users === 0) return this.closeSlot(slot);
    slot.retired = true;
    this.draining.add(slot);
    return new Promise((resolve) => (slot.closed = resolve));
  }

  private release(slot: Slot): void {
    slot.users--;
    if (slot.retired && slot.users === 0) void this.closeSlot(slot);
  }

  /** Closes `slot` (once); settles with the close's error, or undefined. A failure is logged. */
  private closeSlot(slot: Slot): Promise<unknown> {
    if (slot.closing !== undefined) return slot.closing;
    slot.retired = false;
    this.draining.delete(slot);
    const log = this.context.log;
    const closing = slot.next.close().then(
      () => {
        log.debug(`context ${slot.id} closed`);
        return undefined;
      },
      (e: unknown) => {
        log.error(`closing context ${slot.id}: ${describeError(e)}`);
        return e;
      },
    );
    slot.closing = closing;
    void closing.then((e) => slot.closed?.(e));
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
    return closing;
  }
}
