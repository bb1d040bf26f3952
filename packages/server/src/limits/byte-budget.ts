import { CONNECTION_ALLOWANCE } from './limits.js';

/**
 * The server-wide pool of buffer bytes. Bytes are granted first come, first
 * served: a request waits while an earlier one waits, so large requests are
 * not starved by small ones.
 */
export class ByteBudget {
  /** Bytes granted and not yet released. */
  used = 0;
  /** The most ever granted at once. */
  peak = 0;
  private readonly waiters: { readonly n: number; readonly grant: () => void }[] = [];

  constructor(readonly size: number) {}

  /** Takes `n` bytes if they are free and nobody waits; returns whether it did. */
  tryTake(n: number): boolean {
    if (this.waiters.length > 0 || this.used + n > this.size) return false;
    this.take(n);
    return true;
  }

  /** Queues for `n` bytes; `grant` runs once they are taken. Returns a function that leaves the queue. */
  wait(n: number, grant: () => void): () => void {
    const waiter = { n, grant };
    this.waiters.push(waiter);
    return () => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) {
        this.waiters.splice(i, 1);
        this.serve();
      }
    };
  }

  /** Takes `n` bytes even past the size: for bytes that already arrived. */
  force(n: number): void {
    this.take(n);
  }

  release(n: number): void {
    if (n === 0) return;
    this.used -= n;
    this.serve();
  }

  private take(n: number): void {
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
  }

  private serve(): void {
    for (let w = this.waiters[0]; w !== undefined && this.used + w.n <= this.size; w = this.waiters[0]) {
      this.waiters.shift();
      this.take(w.n);
      w.grant();
    }
  }
}

/** Bytes charged for one request: from the connection's own allowance or from the pool. */
export interface Charge {
  readonly own: number;
  readonly pooled: number;
}

const NOTHING: Charge = { own: 0, pooled: 0 };

/**
 * One connection's buffer bytes: what its requests hold while they are
 * received, run and answered. The first {@link CONNECTION_ALLOWANCE} bytes
 * are the connection's own; beyond them bytes come from the pool, and the
 * connection never holds more than `cap` in all.
 */
export class BufferAccount {
  private own = 0;
  private pooled = 0;
  /** Bytes of read replies handed to the socket and maybe not yet sent. */
  private replyOwn = 0;
  private replyPooled = 0;
  private leave: (() => void) | undefined;
  private closed = false;
  private wanted: { readonly n: number; readonly granted: (c: Charge) => void } | undefined;

  constructor(
    private readonly pool: ByteBudget,
    private readonly cap: number,
  ) {}

  /** Bytes this connection holds. */
  get held(): number {
    return this.own + this.pooled;
  }

  /** Charges `n` bytes now, or returns undefined when they must be waited for. */
  tryCharge(n: number): Charge | undefined {
    if (n === 0) return NOTHING;
    if (this.wanted !== undefined) return undefined;
    if (this.own + n <= CONNECTION_ALLOWANCE) {
      this.own += n;
      return { own: n, pooled: 0 };
    }
    if (this.held + n > this.cap || !this.pool.tryTake(n)) return undefined;
    this.pooled += n;
    return { own: 0, pooled: n };
  }

  /**
   * Charges `n` bytes however much is held: for bytes that already arrived
   * (at most one socket read), which cannot be refused.
   */
  force(n: number): Charge {
    const c = this.tryCharge(n);
    if (c !== undefined) return c;
    this.pool.force(n);
    this.pooled += n;
    return { own: 0, pooled: n };
  }

  /**
   * Waits for `n` bytes (after {@link tryCharge} said no); `granted` runs with
   * the charge once it is made. Only one wait at a time.
   */
  wait(n: number, granted: (c: Charge) => void): void {
    if (this.closed) return;
    this.wanted = { n, granted };
    this.retry();
  }

  /** Whether a wait is under way. */
  get waiting(): boolean {
    return this.wanted !== undefined;
  }

  private retry(): void {
    const w = this.wanted;
    if (w === undefined || this.leave !== undefined) return;
    if (this.own + w.n <= CONNECTION_ALLOWANCE || this.held + w.n <= this.cap) {
      this.wanted = undefined;
      const c = this.tryCharge(w.n);
      if (c !== undefined) {
        w.granted(c);
        return;
      }
      this.wanted = w;
      // Within this connection's cap but not free in the pool: queue there.
      this.leave = this.pool.wait(w.n, () => {
        this.leave = undefined;
        this.wanted = undefined;
        this.pooled += w.n;
        w.granted({ own: 0, pooled: w.n });
      });
    }
    // Otherwise over this connection's cap: wait for its own releases.
  }

  release(c: Charge): void {
    this.own -= c.own;
    this.pooled -= c.pooled;
    this.pool.release(c.pooled);
    this.retry();
  }

  /** A read's charge now covers its reply, queued on the socket. */
  toReply(c: Charge): void {
    if (this.closed) {
      this.release(c);
      return;
    }
    this.replyOwn += c.own;
    this.replyPooled += c.pooled;
  }

  /** The socket has `pending` bytes not yet sent: release reply bytes beyond that. */
  sent(pending: number): void {
    let excess = this.replyOwn + this.replyPooled - pending;
    if (excess <= 0) return;
    const pooled = Math.min(excess, this.replyPooled);
    excess -= pooled;
    this.replyPooled -= pooled;
    this.replyOwn -= excess;
    this.release({ own: excess, pooled });
  }

  /**
   * The client is gone: leaves the pool's queue and releases what replies
   * held (the socket dropped them). Requests still running keep their
   * charges until they end and release them.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.leave?.();
    this.leave = undefined;
    this.wanted = undefined;
    const reply = { own: this.replyOwn, pooled: this.replyPooled };
    this.replyOwn = 0;
    this.replyPooled = 0;
    this.release(reply);
  }
}
