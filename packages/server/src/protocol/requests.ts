import { NBD_CMD_WRITE, NBD_REQUEST_MAGIC, REQUEST_SIZE } from './constants.js';
import { allocUnsafe, ByteQueue } from './byte-queue.js';

/** One transmission-phase request as it came off the wire. */
export interface Request {
  readonly flags: number;
  readonly type: number;
  readonly cookie: bigint;
  readonly offset: bigint;
  readonly count: number;
  /** NBD_CMD_WRITE: the payload; undefined when it was too large and was drained. */
  readonly payload: Buffer | undefined;
  /** Whether the payload was copied into a buffer from the parser's allocator (rather than being a view of received bytes). */
  readonly copied: boolean;
}

/** The client sent something that is not an NBD request: the connection cannot go on. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * Splits a byte stream into requests. Pure: feed it chunks, take requests.
 * A write whose payload is above `maxPayload` is drained (its bytes are read
 * and dropped) so the stream stays in step, and comes out with no payload.
 *
 * A large payload can also be received in place: {@link payloadSpace} gives
 * the part of its buffer still to fill, for the next socket read to land in,
 * and {@link received} counts what landed there.
 */
export class RequestParser {
  private readonly queue = new ByteQueue();
  private header: { -readonly [K in keyof Request]: Request[K] } | undefined;
  /** Bytes of an oversized payload still to drop. */
  private draining = 0;

  /** The buffer of the payload being received in place, and how much of it is there. */
  private filling: Buffer | undefined;
  private filled = 0;

  /** Set when the last payload had to be copied. */
  private copied = false;
  private readonly allocatePayload = (n: number): Buffer => {
    this.copied = true;
    return this.allocate(n);
  };

  /**
   * @param maxPayload Writes above this are drained.
   * @param allocate Where a payload spanning several received chunks is copied to.
   * @param inPlaceFrom Payloads from this size on may be received in place.
   */
  constructor(
    private readonly maxPayload: number,
    private readonly allocate: (n: number) => Buffer = allocUnsafe,
    private readonly inPlaceFrom = Infinity,
  ) {}

  push(chunk: Buffer): void {
    const f = this.filling;
    const count = this.header?.count ?? 0;
    if (f !== undefined && this.filled < count) {
      const n = chunk.copy(f, this.filled, 0, count - this.filled);
      this.filled += n;
      chunk = chunk.subarray(n);
    }
    this.queue.push(chunk);
  }

  /**
   * Where the rest of the awaited write payload can be received in place:
   * the unfilled part of its buffer (allocated on the first call, with the
   * bytes already queued moved into it), and room for the next request's
   * header after it, so one read can take both. Undefined when no payload
   * of at least `inPlaceFrom` bytes is awaited, or when it is all there.
   */
  payloadSpace(): Buffer | undefined {
    const req = this.header;
    if (req === undefined || this.draining > 0 || req.count < this.inPlaceFrom || this.filled >= req.count) return undefined;
    if (this.filling === undefined) {
      const q = this.queue;
      if (q.length >= req.count) return undefined;
      this.filled = q.length;
      this.filling = this.allocate(req.count + REQUEST_SIZE);
      q.moveTo(this.filling, q.length);
    }
    return this.filling.subarray(this.filled);
  }

  /**
   * `n` bytes were received into the last {@link payloadSpace}. Bytes past
   * the payload are the next request's: they are queued (copied, since the
   * payload's buffer goes to the layers).
   */
  received(n: number): void {
    this.filled += n;
    const f = this.filling as Buffer;
    const count = (this.header as Request).count;
    if (this.filled > count) {
      this.queue.push(Buffer.from(f.subarray(count, this.filled)));
      this.filled = count;
    }
  }

  /** The next complete request, or undefined when more bytes are needed. Throws ProtocolError on a bad magic. */
  next(): Request | undefined {
    const q = this.queue;
    let req = this.header;
    if (req === undefined) {
      if (q.length < REQUEST_SIZE) return undefined;
      const b = q.take(REQUEST_SIZE);
      const magic = b.readUInt32BE(0);
      if (magic !== NBD_REQUEST_MAGIC) throw new ProtocolError(`bad request magic 0x${magic.toString(16)}`);
      req = {
        flags: b.readUInt16BE(4),
        type: b.readUInt16BE(6),
        cookie: b.readBigUInt64BE(8),
        offset: b.readBigUInt64BE(16),
        count: b.readUInt32BE(24),
        payload: undefined,
        copied: false,
      };
      if (req.type !== NBD_CMD_WRITE) return req;
      if (req.count > this.maxPayload) this.draining = req.count;
      this.header = req;
    }
    if (this.draining > 0) {
      this.draining -= q.skip(this.draining);
      if (this.draining > 0) return undefined;
    } else if (this.filling !== undefined) {
      if (this.filled < req.count) return undefined;
      req.payload = this.filling.subarray(0, req.count);
      req.copied = true;
      this.filling = undefined;
      this.filled = 0;
    } else {
      if (q.length < req.count) return undefined;
      this.copied = false;
      req.payload = q.take(req.count, this.allocatePayload);
      req.copied = this.copied;
    }
    this.header = undefined;
    return req;
  }

  /** The payload size of a write whose header was read and whose payload is still arriving; 0 when none. */
  get awaitedPayload(): number {
    return this.header !== undefined && this.draining === 0 ? this.header.count : 0;
  }

  /** Bytes received and not yet parsed. */
  get buffered(): number {
    return this.queue.length + (this.filling === undefined ? 0 : this.filled);
  }
}
