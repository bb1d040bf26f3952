import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockDescriptors } from '../src/protocol/block-descriptors.js';
import { ByteQueue } from '../src/protocol/byte-queue.js';
import {
  NBD_CMD_WRITE,
  NBD_EINVAL,
  NBD_EIO,
  NBD_ENOMEM,
  NBD_ENOSPC,
  NBD_ENOTSUP,
  NBD_EOVERFLOW,
  NBD_EPERM,
  NBD_ESHUTDOWN,
  NBD_OPT_REPLY_MAGIC,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
} from '../src/protocol/constants.js';
import { nbdErrno } from '../src/protocol/errno.js';
import { InvalidOption, lengthPrefixed, OptionData, OptionParser, optionReply, type OptionRequest } from '../src/protocol/options.js';
import { blockStatusChunk, errorChunk, noneChunk, readReplyHeaderSize, simpleReply, writeReadReplyHeader } from '../src/protocol/replies.js';
import { ProtocolError, RequestParser, type Request } from '../src/protocol/requests.js';
import { option, request } from './wire.js';

/** Runs per property; the seed is fixed so a failure replays, and printed by fast-check when one happens. */
const RUNS = { numRuns: 300, seed: 0x6e6264 };
const MAX_PAYLOAD = 256;

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** Splits `b` into chunks at the given cut points (taken modulo its length, sorted). */
function split(b: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (b.length === 0 ? 0 : c % b.length)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, b.length]) {
    out.push(b.subarray(from, p));
    from = p;
  }
  return out;
}

/** Calls `f` and fails unless it returns or throws an instance of `allowed`. */
function throwsOnly(allowed: abstract new (...args: never[]) => Error, f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof allowed)) throw new Error(`threw ${String(e)} instead of ${allowed.name}`, { cause: e });
  }
}

const arbRequest = fc.record({
  type: u16,
  flags: u16,
  cookie: u64,
  offset: u64,
  count: u32,
  payload: bytes(MAX_PAYLOAD),
  oversized: fc.integer({ min: 1, max: 600 }),
  bigWrite: fc.boolean(),
});

describe('ByteQueue', () => {
  it('gives back the bytes pushed, however they are pushed and taken', () => {
    fc.assert(
      fc.property(fc.array(bytes(64), { maxLength: 20 }), fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 40 }), fc.boolean(), (chunks, takes, intoTarget) => {
        const q = new ByteQueue();
        for (const c of chunks) q.push(c);
        const all = Buffer.concat(chunks);
        let at = 0;
        for (const n0 of takes) {
          const n = Math.min(n0, q.length);
          if (n0 % 3 === 0) {
            expect(q.skip(n)).toBe(n);
          } else {
            const got = q.take(n, intoTarget ? (m: number) => Buffer.alloc(m) : undefined);
            expect(got.equals(all.subarray(at, at + n))).toBe(true);
          }
          at += n;
          expect(q.length).toBe(all.length - at);
        }
      }),
      RUNS,
    );
  });
});

describe('RequestParser', () => {
  it('parses any stream of requests split anywhere into the same requests', () => {
    fc.assert(
      fc.property(fc.array(arbRequest, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (reqs, cuts) => {
        const expected: Omit<Request, 'copied'>[] = [];
        const wire: Buffer[] = [];
        for (const r of reqs) {
          if (r.type === NBD_CMD_WRITE) {
            // Either a payload that fits, or one over the limit that is drained.
            const payload = r.bigWrite ? Buffer.alloc(MAX_PAYLOAD + r.oversized, 0xab) : r.payload;
            wire.push(request(r.type, r.cookie, r.offset, payload.length, r.flags, payload));
            expected.push({ flags: r.flags, type: r.type, cookie: r.cookie, offset: r.offset, count: payload.length, payload: r.bigWrite ? undefined : payload });
          } else {
            wire.push(request(r.type, r.cookie, r.offset, r.count, r.flags));
            expected.push({ flags: r.flags, type: r.type, cookie: r.cookie, offset: r.offset, count: r.count, payload: undefined });
          }
        }
        const p = new RequestParser(MAX_PAYLOAD);
        const got: Omit<Request, 'copied'>[] = [];
        for (const chunk of split(Buffer.concat(wire), cuts)) {
          p.push(chunk);
          // Whether a payload was copied depends on where the stream was split; the requests do not.
          for (let r = p.next(); r !== undefined; r = p.next()) {
            const { copied: _copied, ...rest } = r;
            got.push({ ...rest, payload: r.payload === undefined ? undefined : Buffer.from(r.payload) });
          }
        }
        expect(got).toEqual(expected);
        expect(p.buffered).toBe(0);
        expect(p.awaitedPayload).toBe(0);
      }),
      RUNS,
    );
  });

  it('says how much payload a write awaits while it arrives', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_PAYLOAD }), fc.nat(), (count, cut) => {
        const p = new RequestParser(MAX_PAYLOAD);
        const wire = request(NBD_CMD_WRITE, 1n, 0n, count, 0, Buffer.alloc(count));
        p.push(wire.subarray(0, 28 + (cut % count)));
        expect(p.next()).toBeUndefined();
        expect(p.awaitedPayload).toBe(count);
      }),
      RUNS,
    );
  });

  it('arbitrary bytes never throw anything but ProtocolError', () => {
    fc.assert(
      fc.property(fc.array(bytes(96), { maxLength: 8 }), (chunks) => {
        const p = new RequestParser(MAX_PAYLOAD);
        throwsOnly(ProtocolError, () => {
          for (const c of chunks) {
            p.push(c);
            while (p.next() !== undefined);
          }
        });
      }),
      RUNS,
    );
  });
});

describe('OptionParser', () => {
  const MAX_OPTION = 128;
  it('parses the client flags and any options split anywhere; long ones are drained', () => {
    fc.assert(
      fc.property(u32, fc.array(fc.record({ option: u32, data: bytes(MAX_OPTION * 2) }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (flags, opts, cuts) => {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(flags, 0);
        const wire = Buffer.concat([head, ...opts.map((o) => option(o.option, o.data))]);
        const p = new OptionParser(MAX_OPTION);
        const got: OptionRequest[] = [];
        let clientFlags: Buffer | undefined;
        for (const chunk of split(wire, cuts)) {
          p.push(chunk);
          clientFlags ??= p.takeRaw(4);
          if (clientFlags === undefined) continue;
          for (let o = p.next(); o !== undefined; o = p.next()) got.push(o);
        }
        expect(clientFlags?.readUInt32BE(0)).toBe(flags);
        expect(got).toEqual(opts.map((o) => ({ option: o.option, length: o.data.length, data: o.data.length > MAX_OPTION ? undefined : o.data })));
        expect(p.buffered).toBe(0);
      }),
      RUNS,
    );
  });

  it('arbitrary bytes never throw anything but ProtocolError', () => {
    fc.assert(
      fc.property(fc.array(bytes(64), { maxLength: 8 }), (chunks) => {
        const p = new OptionParser(MAX_OPTION);
        throwsOnly(ProtocolError, () => {
          for (const c of chunks) {
            p.push(c);
            while (p.next() !== undefined);
          }
        });
      }),
      RUNS,
    );
  });
});

describe('option data and replies', () => {
  it('OptionData reads back what was written with lengthPrefixed and big-endian integers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), u16, u32, (s, a, b) => {
        const tail = Buffer.alloc(6);
        tail.writeUInt16BE(a, 0);
        tail.writeUInt32BE(b, 2);
        const d = new OptionData(Buffer.concat([lengthPrefixed(s), tail]));
        expect(d.string('s')).toBe(Buffer.from(s, 'utf8').toString('utf8'));
        expect(d.u16()).toBe(a);
        expect(d.u32()).toBe(b);
        d.end();
      }),
      RUNS,
    );
  });

  it('OptionData on arbitrary bytes throws nothing but InvalidOption', () => {
    fc.assert(
      fc.property(bytes(64), fc.array(fc.constantFrom('u16', 'u32', 'string', 'end'), { maxLength: 8 }), (data, reads) => {
        const d = new OptionData(data);
        throwsOnly(InvalidOption, () => {
          for (const r of reads) {
            if (r === 'string') d.string('field');
            else if (r === 'end') d.end();
            else d[r]();
          }
        });
      }),
      RUNS,
    );
  });

  it('optionReply frames option, type and data', () => {
    fc.assert(
      fc.property(u32, u32, bytes(200), (opt, type, data) => {
        const b = optionReply(opt, type, data);
        expect(b.readBigUInt64BE(0)).toBe(NBD_OPT_REPLY_MAGIC);
        expect([b.readUInt32BE(8), b.readUInt32BE(12), b.readUInt32BE(16)]).toEqual([opt, type, data.length]);
        expect(b.subarray(20).equals(data)).toBe(true);
      }),
      RUNS,
    );
  });
});

/** A structured reply chunk as a client decodes it. */
function chunk(b: Buffer): { flags: number; type: number; cookie: bigint; payload: Buffer } {
  expect(b.readUInt32BE(0)).toBe(NBD_STRUCTURED_REPLY_MAGIC);
  const length = b.readUInt32BE(16);
  expect(b.length).toBe(20 + length);
  return { flags: b.readUInt16BE(4), type: b.readUInt16BE(6), cookie: b.readBigUInt64BE(8), payload: b.subarray(20) };
}

describe('transmission replies', () => {
  it('simple replies and NONE chunks carry the cookie and error', () => {
    fc.assert(
      fc.property(u64, u32, (cookie, error) => {
        const s = simpleReply(cookie, error);
        expect([s.readUInt32BE(0), s.readUInt32BE(4), s.readBigUInt64BE(8), s.length]).toEqual([NBD_SIMPLE_REPLY_MAGIC, error, cookie, 16]);
        expect(chunk(noneChunk(cookie))).toEqual({ flags: NBD_REPLY_FLAG_DONE, type: NBD_REPLY_TYPE_NONE, cookie, payload: Buffer.alloc(0) });
      }),
      RUNS,
    );
  });

  it('read reply headers frame the data already in the buffer', () => {
    fc.assert(
      fc.property(fc.boolean(), u64, u64, bytes(300), (structured, cookie, offset, data) => {
        const hdr = readReplyHeaderSize(structured);
        const b = Buffer.alloc(hdr + data.length);
        data.copy(b, hdr);
        writeReadReplyHeader(b, structured, cookie, offset);
        if (!structured) {
          expect([b.readUInt32BE(0), b.readUInt32BE(4), b.readBigUInt64BE(8)]).toEqual([NBD_SIMPLE_REPLY_MAGIC, 0, cookie]);
          expect(b.subarray(16).equals(data)).toBe(true);
          return;
        }
        const c = chunk(b);
        expect([c.flags, c.type, c.cookie, c.payload.readBigUInt64BE(0)]).toEqual([NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, cookie, offset]);
        expect(c.payload.subarray(8).equals(data)).toBe(true);
      }),
      RUNS,
    );
  });

  it('error chunks carry the error and as much of the message as fits', () => {
    fc.assert(
      fc.property(u64, u32, fc.string({ maxLength: 3000, unit: 'binary' }), (cookie, error, message) => {
        const c = chunk(errorChunk(cookie, error, message));
        expect([c.flags, c.type, c.cookie, c.payload.readUInt32BE(0)]).toEqual([NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, cookie, error]);
        // The message is cut to 1024 characters and 4096 bytes (what the specification allows).
        const text = Buffer.from(message.slice(0, 1024), 'utf8').subarray(0, 4096);
        expect(c.payload.readUInt16BE(4)).toBe(text.length);
        expect(c.payload.subarray(6).equals(text)).toBe(true);
      }),
      RUNS,
    );
  });

  it('block status chunks list every descriptor in order', () => {
    fc.assert(
      fc.property(u64, u32, fc.array(fc.tuple(u32, u32), { maxLength: 50 }), (cookie, id, descriptors) => {
        const c = chunk(blockStatusChunk(cookie, id, descriptors));
        expect([c.flags, c.type, c.cookie, c.payload.readUInt32BE(0)]).toEqual([NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, cookie, id]);
        const got = Array.from({ length: (c.payload.length - 4) / 8 }, (_, i) => [c.payload.readUInt32BE(4 + 8 * i), c.payload.readUInt32BE(8 + 8 * i)]);
        expect(got).toEqual(descriptors);
      }),
      RUNS,
    );
  });
});

describe('blockDescriptors', () => {
  /** Contiguous extents from offset 0: lengths up to 6 GiB, so some exceed a descriptor. */
  const arbExtents = fc
    .array(fc.tuple(fc.oneof(fc.bigInt({ min: 1n, max: 1n << 20n }), fc.bigInt({ min: 1n, max: 6n << 30n })), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 30 })
    .map((runs) => {
      let offset = 0n;
      return runs.map(([length, type]) => {
        const e = { offset, length, type };
        offset += length;
        return e;
      });
    });
  const lengths = (d: readonly (readonly [number, number])[]) => d.map(([length]) => length);

  it('with REQ_ONE: exactly one descriptor, the first extent cut to the request, never empty', () => {
    fc.assert(
      fc.property(arbExtents, fc.integer({ min: 1, max: 0xffff_ffff }), (extents, count) => {
        const first = extents[0] as { length: bigint; type: number };
        expect(blockDescriptors(extents, count, true)).toEqual([[Math.min(Number(first.length), count), first.type]]);
      }),
      RUNS,
    );
  });

  it('without: the extents in order up to the first that reaches the end of the request, sent whole (at most 4 GiB - 1)', () => {
    fc.assert(
      fc.property(arbExtents, fc.integer({ min: 1, max: 0xffff_ffff }), (extents, count) => {
        const d = blockDescriptors(extents, count, false);
        expect(d.length).toBeGreaterThan(0);
        // The extents' own lengths and types, each capped at what a descriptor holds.
        expect(d).toEqual(extents.slice(0, d.length).map((e) => [Math.min(Number(e.length), 0xffff_ffff), e.type]));
        // All but the last sum to less than the request (a MUST of the specification)...
        expect(lengths(d.slice(0, -1)).reduce((a, b) => a + b, 0)).toBeLessThan(count);
        // ... and the answer stops early only where the extents stop.
        const sum = lengths(d).reduce((a, b) => a + b, 0);
        if (sum < count) expect(d.length).toBe(extents.length);
      }),
      RUNS,
    );
  });

  it('none for no extents', () => {
    expect(blockDescriptors([], 512, false)).toEqual([]);
    expect(blockDescriptors([], 512, true)).toEqual([]);
  });
});

describe('nbdErrno', () => {
  const wire = [NBD_EPERM, NBD_EIO, NBD_ENOMEM, NBD_EINVAL, NBD_ENOSPC, NBD_EOVERFLOW, NBD_ENOTSUP, NBD_ESHUTDOWN];
  it('maps any code and flags to an NBD error, ENOTSUP and EOVERFLOW only with their flags', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('EPERM', 'EROFS', 'EIO', 'ETIMEDOUT', 'ENOSPC', 'ENOTSUP', 'EOVERFLOW', 'ESHUTDOWN')), u16, (code, flags) => {
        const e = nbdErrno(code, flags);
        expect(wire).toContain(e);
        if (e === NBD_ENOTSUP) expect(flags & 16).not.toBe(0);
        if (e === NBD_EOVERFLOW) expect(flags & 4).not.toBe(0);
      }),
      RUNS,
    );
  });
});
