import { writevSync } from 'node:fs';
import type { Socket } from 'node:net';

/**
 * The one writer of a connection's socket. Each reply is written whole (never
 * interleaved with another), and every reply queued in the same turn of the
 * event loop leaves in one writev.
 *
 * On a plain socket that the writer may write to directly (see
 * {@link directFd}), the writev is a system call on the socket's descriptor,
 * made at the end of the turn: Node's stream machinery (write requests, their
 * completion callbacks, cork and uncork) is skipped whenever the kernel takes
 * the bytes at once, which it does unless the client is slow to read. What it
 * does not take goes through the socket's stream, and so does everything
 * after it until the stream has sent it all.
 */
export class ReplyWriter {
  /** Replies waiting for the end of the turn, and what runs once each is sent. */
  private replies: Uint8Array[] = [];
  private callbacks: ((() => void) | undefined)[] = [];
  private queuedBytes = 0;
  private scheduled = false;

  /**
   * @param fd the socket's descriptor when replies may be written to it
   *   directly, else undefined (TLS, or a socket without one).
   * @param drained runs when replies written directly leave nothing pending,
   *   as the socket's 'drain' event does for replies written through it.
   */
  constructor(
    private readonly socket: Socket,
    private readonly fd: number | undefined,
    private readonly drained: () => void,
  ) {}

  private readonly flushQueued = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /** Queues one reply; `written` runs once the socket is done with it (or failed). */
  send(reply: Uint8Array, written?: () => void): void {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) {
      written?.();
      return;
    }
    this.replies.push(reply);
    this.callbacks.push(written);
    this.queuedBytes += reply.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushQueued);
    }
  }

  /** Sends what is queued now (the end of the turn does it otherwise). */
  flush(): void {
    const replies = this.replies;
    const callbacks = this.callbacks;
    if (replies.length === 0) return;
    this.replies = [];
    this.callbacks = [];
    this.queuedBytes = 0;
    const s = this.socket;
    let sent = 0;
    if (s.destroyed || s.writableEnded) {
      sent = Infinity;
    } else if (this.fd !== undefined && s.writableLength === 0) {
      try {
        sent = writevSync(this.fd, replies);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
          s.destroy(e as Error);
          sent = Infinity;
        }
      }
    }
    let done = 0;
    for (const reply of replies) {
      if (sent < reply.length) break;
      sent -= reply.length;
      callbacks[done++]?.();
    }
    if (done === replies.length) {
      if (!s.destroyed) this.drained();
      return;
    }
    // The rest goes through the stream, in order, in one writev.
    s.cork();
    replies.forEach((reply, i) => {
      if (i >= done) s.write(i === done && sent > 0 ? reply.subarray(sent) : reply, callbacks[i]);
    });
    s.uncork();
  }

  /** Bytes queued and not yet handed to the kernel. */
  get pending(): number {
    return this.socket.writableLength + this.queuedBytes;
  }
}

/**
 * The descriptor of a plain (not TLS) socket, for writing to it directly, or
 * undefined when it has none (Node keeps it on the socket's handle).
 */
export function directFd(socket: Socket): number | undefined {
  const fd = (socket as Socket & { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
