import { describe, expect, it } from 'vitest';
import {
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_WRITE,
  NBD_OPT_GO,
  NBD_OPT_LIST,
} from '../src/protocol/constants.js';
import { OptionData, OptionParser, optionReply, InvalidOption } from '../src/protocol/options.js';
import { ProtocolError, RequestParser, type Request } from '../src/protocol/requests.js';
import { blockStatusChunk, errorChunk, writeReadReplyHeader } from '../src/protocol/replies.js';
import { option, request } from './wire.js';

/** Feeds `stream` to `parse` split at `cut` and collects every item. */
function feedSplit<T>(stream: Buffer, cuts: number[], push: (b: Buffer) => void, next: () => T | undefined): T[] {
  const out: T[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    push(stream.subarray(from, cut));
    from = cut;
    for (let x = next(); x !== undefined; x = next()) out.push(x);
  }
  return out;
}

// Whether a payload was copied depends on where the stream was split; the requests do not.
const plain = ({ copied: _copied, ...r }: Request) => ({ ...r, payload: r.payload === undefined ? undefined : Buffer.from(r.payload).toString('hex') });

describe('RequestParser', () => {
  const payload = Buffer.from('0123456789abcdef0123456789abcdef');
  const stream = Buffer.concat([
    request(NBD_CMD_READ, 1n, 4096n, 512),
    request(NBD_CMD_WRITE, 2n, 0n, payload.length, 1, payload),
    request(NBD_CMD_WRITE, 3n, 8n, 100, 0, Buffer.alloc(100, 7)),
    request(NBD_CMD_FLUSH, 0xffff_ffff_ffff_ffffn, 0n, 0),
  ]);
  const expected = (() => {
    const p = new RequestParser(64);
    p.push(stream);
    return [p.next(), p.next(), p.next(), p.next()].map((r) => plain(r as Request));
  })();

  it('parses the fixture in one piece, draining a payload above the limit', () => {
    expect(expected.map((r) => r.cookie)).toEqual([1n, 2n, 3n, 0xffff_ffff_ffff_ffffn]);
    expect(expected[1]?.payload).toBe(payload.toString('hex'));
    expect(expected[1]?.flags).toBe(1);
    expect(expected[2]?.payload).toBeUndefined();
    expect(expected[2]?.count).toBe(100);
  });

  it('gives the same requests when split at every byte boundary', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new RequestParser(64);
      const got = feedSplit(stream, [cut], (b) => p.push(b), () => p.next());
      expect(got.map(plain)).toEqual(expected);
    }
  });

  it('gives the same requests when fed one byte at a time', () => {
    const p = new RequestParser(64);
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(feedSplit(stream, cuts, (b) => p.push(b), () => p.next()).map(plain)).toEqual(expected);
  });

  it('gives the same requests when large payloads are received in place, whatever the size of each read', () => {
    let inPlace = 0;
    for (let size = 1; size <= stream.length; size++) {
      // Payloads from 16 bytes on are received in place; every third read is pushed even when a payload awaits.
      const p = new RequestParser(64, (n) => Buffer.alloc(n), 16);
      const got: Request[] = [];
      for (let from = 0, read = 0; from < stream.length; read++) {
        const space = read % 3 === 2 ? undefined : p.payloadSpace();
        const n = Math.min(size, stream.length - from, space?.length ?? Infinity);
        if (space !== undefined) {
          stream.copy(space, 0, from, from + n);
          p.received(n);
          inPlace += n;
        } else {
          p.push(Buffer.from(stream.subarray(from, from + n)));
        }
        from += n;
        // A complete payload gives no room for more, even before it is taken.
        expect(p.payloadSpace()?.length).not.toBe(0);
        for (let r = p.next(); r !== undefined; r = p.next()) got.push(r);
      }
      expect(got.map(plain)).toEqual(expected);
      expect(p.buffered).toBe(0);
    }
    expect(inPlace).toBeGreaterThan(0);
  });

  it('throws ProtocolError on a bad magic', () => {
    const p = new RequestParser(64);
    const bad = request(NBD_CMD_READ, 1n, 0n, 1);
    bad.writeUInt32BE(0xdeadbeef, 0);
    p.push(bad);
    expect(() => p.next()).toThrow(ProtocolError);
  });
});

describe('OptionParser', () => {
  const go = Buffer.alloc(4 + 3 + 2 + 2);
  go.writeUInt32BE(3, 0);
  go.write('abc', 4);
  go.writeUInt16BE(1, 7);
  go.writeUInt16BE(3, 9);
  const stream = Buffer.concat([Buffer.from([0, 0, 0, 3]), option(NBD_OPT_LIST, Buffer.alloc(0)), option(99, Buffer.alloc(40, 1)), option(NBD_OPT_GO, go)]);

  it('parses client flags and options split at every byte boundary', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new OptionParser(32);
      let flags: Buffer | undefined;
      const got = feedSplit(stream, [cut], (b) => p.push(b), () => {
        if (flags === undefined) {
          flags = p.takeRaw(4);
          if (flags === undefined) return undefined;
        }
        return p.next();
      });
      expect(flags?.readUInt32BE(0)).toBe(3);
      expect(got.map((o) => [o.option, o.length, o.data?.toString('hex')])).toEqual([
        [NBD_OPT_LIST, 0, ''],
        [99, 40, undefined],
        [NBD_OPT_GO, go.length, go.toString('hex')],
      ]);
    }
  });

  it('reads option data fields and refuses short or bad data', () => {
    const d = new OptionData(go);
    expect(d.string('name')).toBe('abc');
    expect(d.u16()).toBe(1);
    expect(d.u16()).toBe(3);
    d.end();
    expect(() => new OptionData(Buffer.from([0, 0, 0, 9, 65])).string('name')).toThrow(InvalidOption);
    expect(() => new OptionData(Buffer.from([0, 0, 0, 2, 0xc3, 0x28])).string('name')).toThrow(/UTF-8/);
    const long = Buffer.alloc(4);
    long.writeUInt32BE(5000, 0);
    expect(() => new OptionData(long).string('name')).toThrow(/longer than 4096/);
    expect(() => new OptionData(Buffer.from([1, 2, 3])).end()).toThrow(/trailing/);
  });
});

describe('reply serializers', () => {
  it('option replies carry the magic, option, type and data', () => {
    const r = optionReply(7, 1, Buffer.from('xy'));
    expect(r.readBigUInt64BE(0)).toBe(0x3e889045565a9n);
    expect([r.readUInt32BE(8), r.readUInt32BE(12), r.readUInt32BE(16), r.subarray(20).toString()]).toEqual([7, 1, 2, 'xy']);
  });

  it('a structured read reply frames the data in place', () => {
    const b = Buffer.alloc(28 + 4, 9);
    writeReadReplyHeader(b, true, 5n, 1024n);
    expect(b.readUInt32BE(0)).toBe(0x668e33ef);
    expect(b.readUInt16BE(4)).toBe(1);
    expect(b.readUInt16BE(6)).toBe(1);
    expect(b.readBigUInt64BE(8)).toBe(5n);
    expect(b.readUInt32BE(16)).toBe(12);
    expect(b.readBigUInt64BE(20)).toBe(1024n);
    const s = Buffer.alloc(16 + 4);
    writeReadReplyHeader(s, false, 6n, 0n);
    expect([s.readUInt32BE(0), s.readUInt32BE(4), s.readBigUInt64BE(8)]).toEqual([0x67446698, 0, 6n]);
  });

  it('error and block status chunks have the lengths they announce', () => {
    const e = errorChunk(1n, 22, 'bad');
    expect(e.readUInt32BE(16)).toBe(e.length - 20);
    expect(e.readUInt16BE(24)).toBe(3);
    const bs = blockStatusChunk(2n, 1, [
      [4096, 3],
      [512, 0],
    ]);
    expect(bs.readUInt32BE(16)).toBe(4 + 16);
    expect([bs.readUInt32BE(20), bs.readUInt32BE(24), bs.readUInt32BE(28), bs.readUInt32BE(32), bs.readUInt32BE(36)]).toEqual([1, 4096, 3, 512, 0]);
  });
});
