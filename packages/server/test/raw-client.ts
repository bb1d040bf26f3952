import { connect, type Socket } from 'node:net';
import { request } from './wire.js';

/** A byte-level NBD client for tests that must send what no well-behaved client sends. */
export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      this.wakeAll();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wakeAll();
    });
    socket.on('error', () => {});
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Reads exactly n bytes; rejects if the server closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`connection closed with ${this.buf.length}/${n} bytes`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Bytes received and not yet read. */
  get available(): number {
    return this.buf.length;
  }

  /** Resolves once the server closed the connection. */
  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  /** Reads the greeting and sends client flags (fixed newstyle + no zeroes by default). */
  async handshake(flags = 3): Promise<number> {
    const g = await this.read(18);
    if (g.toString('latin1', 0, 8) !== 'NBDMAGIC' || g.toString('latin1', 8, 16) !== 'IHAVEOPT') throw new Error('bad greeting');
    const f = Buffer.alloc(4);
    f.writeUInt32BE(flags, 0);
    this.write(f);
    return g.readUInt16BE(16);
  }

  sendOption(option: number, data: Buffer = Buffer.alloc(0), announcedLength = data.length): void {
    const h = Buffer.alloc(16);
    h.write('IHAVEOPT', 0, 'latin1');
    h.writeUInt32BE(option, 8);
    h.writeUInt32BE(announcedLength, 12);
    this.write(Buffer.concat([h, data]));
  }

  async readOptionReply(): Promise<{ option: number; type: number; data: Buffer }> {
    const h = await this.read(20);
    if (h.readBigUInt64BE(0) !== 0x3e889045565a9n) throw new Error('bad option reply magic');
    const len = h.readUInt32BE(16);
    return { option: h.readUInt32BE(8), type: h.readUInt32BE(12), data: await this.read(len) };
  }

  /** Sends NBD_OPT_GO for `name` and reads replies up to the ACK (or an error). */
  async go(name = '', option = 7): Promise<{ type: number; infos: Buffer[] }> {
    const n = Buffer.from(name);
    const d = Buffer.alloc(4 + n.length + 2);
    d.writeUInt32BE(n.length, 0);
    n.copy(d, 4);
    d.writeUInt16BE(0, 4 + n.length);
    this.sendOption(option, d);
    const infos: Buffer[] = [];
    for (;;) {
      const r = await this.readOptionReply();
      if (r.type === 3) infos.push(r.data);
      else return { type: r.type, infos };
    }
  }

  sendRequest(type: number, cookie: bigint, offset: bigint, count: number, flags = 0, payload?: Buffer): void {
    this.write(request(type, cookie, offset, count, flags, payload));
  }

  /** Reads a simple reply header. */
  async readSimpleReply(): Promise<{ error: number; cookie: bigint }> {
    const h = await this.read(16);
    if (h.readUInt32BE(0) !== 0x67446698) throw new Error(`not a simple reply: 0x${h.readUInt32BE(0).toString(16)}`);
    return { error: h.readUInt32BE(4), cookie: h.readBigUInt64BE(8) };
  }

  close(): void {
    this.socket.destroy();
  }
}
