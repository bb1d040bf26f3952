import { readSync } from 'node:fs';
import type { Socket } from 'node:net';
import { isErrnoName, nbdError } from '@nbdkit-ts/core';
import type { Sendfile } from './sendfile.js';

/**
 * When sendfile finds the socket full, this many bytes are read and written
 * through the socket's stream instead, which waits until the socket takes
 * them; then sendfile goes on.
 */
const STEP_WHEN_FULL = 4096;

/** Bytes read at a time when the file cannot be sent from (sendfile fails with EINVAL). */
const COPY_CHUNK = 1024 * 1024;

type Held = readonly [reply: Uint8Array, written: (() => void) | undefined];

/**
 * The one writer of a connection's socket. Each reply is written whole (never
 * interleaved with another), and every reply queued in the same turn of the
 * event loop leaves in one writev. A read's data may come from a file
 * instead ({@link sendFile}).
 */
export class ReplyWriter {
  private corked = false;
  private batching = false;
  /** Replies queued while a reply is sent from a file; they follow it. */
  private held: Held[] | undefined;
  private heldBytes = 0;
  /** The replies sent from files, one after the other. */
  private files: Promise<void> = Promise.resolve();

  /** `fd` is the socket's descriptor, when replies may be sent from files to it. */
  constructor(
    private readonly socket: Socket,
    readonly fd?: number,
  ) {}

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  /** Queues one reply; `written` runs once the socket is done with it (or failed). */
  send(reply: Uint8Array, written?: () => void): void {
    const s = this.socket;
    if (this.clientGone()) {
      written?.();
      return;
    }
    if (this.held !== undefined) {
      this.held.push([reply, written]);
      this.heldBytes += reply.length;
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
   * Sends a read's reply: `header`, then `count` bytes of the file `file`
   * from `position`, with sendfile (no copy through memory). Replies queued
   * meanwhile follow it. A failure once the header is out leaves the reply
   * cut short: the socket is destroyed, and the promise rejects. A client
   * that has gone gets nothing, as with {@link send}: the promise resolves.
   */
  sendFile(header: Uint8Array, file: number, position: number, count: number, sendfile: Sendfile): Promise<void> {
    const sent = this.files.then(() => this.sendFileNow(header, file, position, count, sendfile));
    this.files = sent.catch(() => undefined);
    return sent;
  }

  private async sendFileNow(header: Uint8Array, file: number, position: number, count: number, sendfile: Sendfile): Promise<void> {
    const s = this.socket;
    if (this.fd === undefined) throw nbdError('EIO', 'this connection cannot send from files');
    if (this.clientGone()) return;
    if (this.corked) this.uncork();
    this.held = [];
    try {
      await this.write(header);
      let done = 0;
      while (done < count) {
        if (this.clientGone()) return;
        const r = sendfile(this.fd, file, position + done, count - done);
        if (typeof r === 'number') {
          if (r === 0) throw nbdError('EIO', `read at ${position + done}: unexpected end of file`);
          done += r;
        } else if (r === 'EAGAIN') done += await this.copy(file, position + done, Math.min(STEP_WHEN_FULL, count - done));
        else if (r === 'EPIPE' || r === 'ECONNRESET') {
          s.destroy();
          return;
        } else if (r === 'EINVAL' || r === 'ENOSYS') done += await this.copy(file, position + done, Math.min(COPY_CHUNK, count - done));
        else throw nbdError(isErrnoName(r) ? r : 'EIO', `sendfile at ${position + done}: ${r}`);
      }
    } catch (e) {
      // A write that failed as the client left.
      if (this.clientGone()) return;
      s.destroy();
      throw e;
    } finally {
      const held = this.held;
      this.held = undefined;
      this.heldBytes = 0;
      for (const [reply, written] of held) this.send(reply, written);
    }
  }

  /** Whether the socket is closed or ending: replies to it are dropped. A call, checked anew after every await. */
  private clientGone(): boolean {
    return this.socket.destroyed || this.socket.writableEnded;
  }

  /** Reads `count` bytes of `file` at `position` and writes them through the stream, once it has taken them. */
  private async copy(file: number, position: number, count: number): Promise<number> {
    const buf = Buffer.allocUnsafe(count);
    let done = 0;
    while (done < count) {
      const n = readSync(file, buf, done, count - done, position + done);
      if (n === 0) throw nbdError('EIO', `read at ${position + done}: unexpected end of file`);
      done += n;
    }
    await this.write(buf);
    return count;
  }

  /** Writes `b` now, past any cork, and settles once the socket has taken it. */
  private write(b: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(b, (e) => (e ? reject(e) : resolve()));
    });
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

  /** Drops the connection: a reply cannot be finished. */
  abort(): void {
    this.socket.destroy();
  }

  /** Bytes queued and not yet handed to the kernel. */
  get pending(): number {
    return this.socket.writableLength + this.heldBytes;
  }
}
