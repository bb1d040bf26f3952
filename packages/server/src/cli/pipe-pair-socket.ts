import { Socket } from 'node:net';

/**
 * One net.Socket made of two one-way streams: it reads what arrives on
 * `input` and writes to `output`. For a client that gives the server a pipe
 * each way rather than one socket (`-s` under `cat | nbdkit-ts -s ... | cat`,
 * socat with its `pipes` option, a remote shell).
 *
 * It has no handle of its own: a net.Socket without one is a plain Duplex,
 * whose reading and writing this class provides. As a socket read in place,
 * it reads nothing while paused, the end of input included: a client that
 * sends NBD_CMD_DISC and closes its side is seen to disconnect, and gets the
 * replies still due, rather than seen gone. A write completes once `output`
 * has taken it. An error on either side destroys it, and destroying it
 * destroys both. It is connected from the start: whoever waits for its
 * 'connect' event hears it at once (Node's TLS waits so for a net.Socket
 * without a handle, before it reads the decrypted stream).
 */
export class PipePairSocket extends Socket {
  /** `input` has ended: the end is passed on once this socket is read. */
  private inputEnded = false;

  constructor(
    private readonly input: Socket,
    private readonly output: Socket,
  ) {
    super();
    input.pause();
    input.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) input.pause();
    });
    input.on('end', () => {
      this.inputEnded = true;
      if (!this.isPaused()) this.push(null);
    });
    input.on('error', (e) => this.destroy(e));
    output.on('error', (e) => this.destroy(e));
    this.on('newListener', (event: string | symbol, listener: () => void) => {
      if (event === 'connect') process.nextTick(listener);
    });
  }

  override _read(): void {
    if (!this.isPaused()) this.input.resume();
  }

  override pause(): this {
    this.input.pause();
    return super.pause();
  }

  override resume(): this {
    super.resume();
    if (this.inputEnded) this.push(null);
    else this.input.resume();
    return this;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.output.write(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    // One batch in, one batch out: the output's writev, done when its last chunk is.
    this.output.cork();
    chunks.forEach(({ chunk }, i) => this.output.write(chunk, i === chunks.length - 1 ? callback : undefined));
    this.output.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.output.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.input.destroy();
    this.output.destroy();
    super._destroy(error, callback);
  }
}
