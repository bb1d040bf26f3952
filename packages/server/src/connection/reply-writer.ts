import type { Socket } from 'node:net';

/**
 * The one writer of a connection's socket. Each reply is written whole (never
 * interleaved with another), and every reply queued in the same turn of the
 * event loop leaves in one writev.
 */
export class ReplyWriter {
  private corked = false;
  private batching = false;

  constructor(private readonly socket: Socket) {}

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  /** Queues one reply; `written` runs once the socket is done with it (or failed). */
  send(reply: Uint8Array, written?: () => void): void {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) {
      written?.();
      return;
    }
    if (!this.corked) {
      this.corked = true;
      s.cork();
      if (!this.batching) process.nextTick(this.uncork);
    }
    s.write(reply, written);
  }

  /**
   * Runs `fn` (the requests of one socket read), and sends the replies it
   * queued in one writev as it returns, before the event loop's tick queue.
   */
  batch(fn: () => void): void {
    if (this.batching) {
      fn();
      return;
    }
    this.batching = true;
    try {
      fn();
    } finally {
      this.batching = false;
      if (this.corked) this.uncork();
    }
  }

  /** Bytes queued and not yet handed to the kernel. */
  get pending(): number {
    return this.socket.writableLength;
  }
}
