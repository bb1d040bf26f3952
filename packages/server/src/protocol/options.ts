import { IHAVEOPT, MAX_STRING_LENGTH, NBD_OPT_REPLY_MAGIC, OPTION_HEADER_SIZE } from './constants.js';
import { ByteQueue } from './byte-queue.js';
import { ProtocolError } from './requests.js';

/** One handshake option as it came off the wire. */
export interface OptionRequest {
  readonly option: number;
  /** The option's data; undefined when it was longer than the limit and was drained. */
  readonly data: Buffer | undefined;
  /** The length the client announced. */
  readonly length: number;
}

/**
 * Splits the handshake byte stream into options. Pure: feed it chunks, take
 * options. Data above `maxLength` is drained so the stream stays in step.
 */
export class OptionParser {
  private readonly queue = new ByteQueue();
  private header: { option: number; length: number } | undefined;
  private draining = 0;

  constructor(private readonly maxLength: number) {}

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /** Takes `n` raw bytes (the client flags), or undefined when fewer are queued. */
  takeRaw(n: number): Buffer | undefined {
    return this.queue.length < n ? undefined : Buffer.from(this.queue.take(n));
  }

  /** The next complete option, or undefined when more bytes are needed. Throws ProtocolError on a bad magic. */
  next(): OptionRequest | undefined {
    const q = this.queue;
    if (this.header === undefined) {
      if (q.length < OPTION_HEADER_SIZE) return undefined;
      const b = q.take(OPTION_HEADER_SIZE);
      const magic = b.readBigUInt64BE(0);
      if (magic !== IHAVEOPT) throw new ProtocolError(`bad option magic 0x${magic.toString(16)}`);
      this.header = { option: b.readUInt32BE(8), length: b.readUInt32BE(12) };
      if (this.header.length > this.maxLength) this.draining = this.header.length;
    }
    const { option, length } = this.header;
    if (this.draining > 0 || length > this.maxLength) {
      this.draining -= q.skip(this.draining);
      if (this.draining > 0) return undefined;
      this.header = undefined;
      return { option, length, data: undefined };
    }
    if (q.length < length) return undefined;
    this.header = undefined;
    return { option, length, data: Buffer.from(q.take(length)) };
  }

  /** Bytes received and not yet parsed. */
  get buffered(): number {
    return this.queue.length;
  }

  /** Bytes received and not yet parsed (a client may pipeline requests after NBD_OPT_GO). */
  drain(): Buffer {
    return Buffer.from(this.queue.take(this.queue.length));
  }
}

/** Serializes an option reply. */
export function optionReply(option: number, type: number, data: Uint8Array = EMPTY): Buffer {
  const b = Buffer.allocUnsafe(20 + data.length);
  b.writeBigUInt64BE(NBD_OPT_REPLY_MAGIC, 0);
  b.writeUInt32BE(option, 8);
  b.writeUInt32BE(type, 12);
  b.writeUInt32BE(data.length, 16);
  b.set(data, 20);
  return b;
}

const EMPTY = new Uint8Array(0);

/** An option's data did not have the shape the specification gives it. */
export class InvalidOption extends Error {}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a name of the handshake (export name, meta context query): at
 * most MAX_STRING_LENGTH bytes of valid UTF-8, else InvalidOption. The one
 * UTF-8 policy of every option.
 */
export function decodeString(bytes: Uint8Array, what: string): string {
  if (bytes.length > MAX_STRING_LENGTH) throw new InvalidOption(`${what} is longer than ${MAX_STRING_LENGTH} bytes`);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new InvalidOption(`${what} is not valid UTF-8`);
  }
}

/** Reads option data field by field; every overrun or bad string throws InvalidOption. */
export class OptionData {
  private pos = 0;
  constructor(private readonly data: Buffer) {}

  u16(): number {
    this.need(2);
    const v = this.data.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.data.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A u32 length followed by that many bytes of UTF-8 (see {@link decodeString}). */
  string(what: string): string {
    const n = this.u32();
    if (n > MAX_STRING_LENGTH) throw new InvalidOption(`${what} is longer than ${MAX_STRING_LENGTH} bytes`);
    this.need(n);
    const bytes = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return decodeString(bytes, what);
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.pos !== this.data.length) throw new InvalidOption(`${this.data.length - this.pos} trailing bytes`);
  }

  private need(n: number): void {
    if (this.pos + n > this.data.length) throw new InvalidOption('option data is too short');
  }
}

/** Serializes a u32 length followed by the UTF-8 of `s`. */
export function lengthPrefixed(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const b = Buffer.allocUnsafe(4 + bytes.length);
  b.writeUInt32BE(bytes.length, 0);
  bytes.copy(b, 4);
  return b;
}
