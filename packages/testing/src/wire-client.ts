import { connect, type Socket } from 'node:net';

const NBD_OPT_GO = 7;
const NBD_OPT_STARTTLS = 5;
const NBD_REP_ACK = 1;
const NBD_REP_INFO = 3;
const NBD_INFO_EXPORT = 0;
const NBD_REQUEST_MAGIC = 0x25609513;
const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
/** Fixed newstyle and no zeroes. */
const CLIENT_FLAGS = 3;

/** NBD commands, as the wire numbers them. */
export const Command = {
  /** NBD_CMD_READ. */
  READ: 0,
  /** NBD_CMD_WRITE. */
  WRITE: 1,
  /** NBD_CMD_DISC: the client disconnects. */
  DISC: 2,
} as const;

/** A transmission request as a client puts it on the wire: the header, then `payload` if given. */
export function requestBytes(type: number, cookie: bigint, offset: bigint, count: number, flags = 0, payload?: Uint8Array): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  h.writeUInt16BE(flags, 4);
  h.writeUInt16BE(type, 6);
  h.writeBigUInt64BE(cookie, 8);
  h.writeBigUInt64BE(offset, 16);
  h.writeUInt32BE(count, 24);
  return payload === undefined ? h : Buffer.concat([h, payload]);
}

/**
 * A byte-level NBD client on a unix socket, for tests that must leave a
 * server in ways no well-behaved client does: in the middle of a handshake,
 * with a payload cut short, with a request in flight. Every wait is bounded.
 */
export class WireClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private closed = false;
  /** Set once the server ended its side of the stream. */
  private ended = false;

  private constructor(
    /** The socket to the server, for what the methods do not cover (ending it, TLS). */
    readonly socket: Socket,
    private readonly timeout: number,
  ) {
    socket.on('data', (b: Buffer) => {
      this.buf = this.buf.length === 0 ? b : Buffer.concat([this.buf, b]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Connects to the unix socket at `path`; every later wait fails after `timeout` ms. */
  static connect(path: string, timeout = 10_000): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new WireClient(s, timeout)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(ready: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + this.timeout;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: nothing within ${this.timeout} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Reads exactly `n` bytes; fails if the server closes first. */
  async read(n: number): Promise<Buffer> {
    await this.until(() => this.buf.length >= n || this.closed, `reading ${n} bytes`);
    if (this.buf.length < n) throw new Error(`the server closed the connection with ${this.buf.length} of ${n} bytes`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Writes raw bytes to the server. */
  write(b: Uint8Array): void {
    this.socket.write(b);
  }

  /** Reads the greeting and sends the client flags. */
  async greet(): Promise<void> {
    const g = await this.read(18);
    if (g.toString('latin1', 0, 16) !== 'NBDMAGICIHAVEOPT') throw new Error('not an NBD newstyle greeting');
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(CLIENT_FLAGS);
    this.write(flags);
  }

  /** Sends the option `option` (an NBD_OPT_ number) with `data`, during the handshake. */
  sendOption(option: number, data: Buffer = Buffer.alloc(0)): void {
    const h = Buffer.alloc(16);
    h.write('IHAVEOPT', 0, 'latin1');
    h.writeUInt32BE(option, 8);
    h.writeUInt32BE(data.length, 12);
    this.write(Buffer.concat([h, data]));
  }

  /** Reads one option reply. */
  async readOptionReply(): Promise<{
    /** The reply type (NBD_REP_ACK, NBD_REP_INFO, an error, ...). */
    type: number;
    /** The reply's data. */
    data: Buffer;
  }> {
    const h = await this.read(20);
    if (h.readBigUInt64BE(0) !== OPTION_REPLY_MAGIC) throw new Error('not an option reply');
    return { type: h.readUInt32BE(12), data: await this.read(h.readUInt32BE(16)) };
  }

  /** NBD_OPT_STARTTLS, up to its ACK: the caller then starts (or aborts) the TLS handshake. */
  async askTls(): Promise<void> {
    this.sendOption(NBD_OPT_STARTTLS);
    const r = await this.readOptionReply();
    if (r.type !== NBD_REP_ACK) throw new Error(`NBD_OPT_STARTTLS refused (reply type 0x${r.type.toString(16)}): ${r.data.toString()}`);
  }

  /** Greets, then NBD_OPT_GO for `exportName`; resolves with the export's size. */
  async open(exportName = ''): Promise<bigint> {
    await this.greet();
    const name = Buffer.from(exportName);
    const d = Buffer.alloc(4 + name.length + 2);
    d.writeUInt32BE(name.length, 0);
    name.copy(d, 4);
    this.sendOption(NBD_OPT_GO, d);
    let size: bigint | undefined;
    for (;;) {
      const r = await this.readOptionReply();
      if (r.type === NBD_REP_INFO && r.data.readUInt16BE(0) === NBD_INFO_EXPORT) size = r.data.readBigUInt64BE(2);
      else if (r.type === NBD_REP_ACK && size !== undefined) return size;
      else if (r.type !== NBD_REP_INFO) throw new Error(`NBD_OPT_GO refused (reply type 0x${r.type.toString(16)}): ${r.data.toString()}`);
    }
  }

  /** Sends a request, with `payload` after its header if given. */
  request(type: number, cookie: bigint, offset: bigint, count: number, payload?: Uint8Array): void {
    this.write(requestBytes(type, cookie, offset, count, 0, payload));
  }

  /** Reads a simple reply; resolves with its error (0: success) and the data of a read of `count` bytes. */
  async reply(count = 0): Promise<{
    /** The NBD error of the reply, 0 on success. */
    error: number;
    /** The data read, empty unless the reply succeeded and `count` is above 0. */
    data: Buffer;
  }> {
    const h = await this.read(16);
    if (h.readUInt32BE(0) !== NBD_SIMPLE_REPLY_MAGIC) throw new Error('not a simple reply');
    const error = h.readUInt32BE(4);
    return { error, data: error === 0 && count > 0 ? await this.read(count) : Buffer.alloc(0) };
  }

  /** Resolves once the server has ended its side of the connection (or it closed). */
  async endedByServer(): Promise<void> {
    await this.until(() => this.ended || this.closed, 'waiting for the server to end the connection');
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }
}
