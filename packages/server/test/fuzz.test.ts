import { connect } from 'node:net';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, seededRandom, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { option, request } from './wire.js';

/**
 * A seeded fuzzer against the running server: random and mutated handshakes
 * and transmission streams, each on its own connection. In CI it runs for
 * NBDKIT_TS_FUZZ_SECONDS (default 20); set it higher for a soak run, and
 * NBDKIT_TS_FUZZ_SEED to replay or vary the cases.
 */
const SECONDS = Number(process.env.NBDKIT_TS_FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.NBDKIT_TS_FUZZ_SEED ?? 20261127);
const PARALLEL = 8;
const SIZE = 1024 * 1024;


class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
}

const name = (s: string) => {
  const b = Buffer.alloc(4 + s.length);
  b.writeUInt32BE(s.length, 0);
  b.write(s, 4);
  return b;
};
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
};

/** One option of a plausible handshake, on the fuzz export. */
function someOption(g: Gen): Buffer {
  switch (g.int(9)) {
    case 0:
      return option(8, Buffer.alloc(0)); // STRUCTURED_REPLY
    case 1:
      return option(3, Buffer.alloc(0)); // LIST
    case 2:
      return option(10, Buffer.concat([name('fuzz'), u32(1), name('base:allocation')])); // SET_META_CONTEXT
    case 3:
      return option(9, Buffer.concat([name('fuzz'), u32(0)])); // LIST_META_CONTEXT
    case 4:
      return option(6, Buffer.concat([name('fuzz'), u16(1), u16(3)])); // INFO
    case 5:
      return option(5, Buffer.alloc(0)); // STARTTLS (not enabled)
    case 6:
      return option(g.int(64), g.bytes(g.int(40)));
    case 7:
      return option(2, Buffer.alloc(0)); // ABORT
    default:
      return option(7, Buffer.concat([name('fuzz'), u16(0)])); // GO
  }
}

/** A valid way into transmission on the fuzz export. */
function enter(g: Gen): Buffer {
  const flags = u32(g.pick([3, 3, 1]));
  const structured = g.int(2) === 1;
  const parts: Buffer[] = [flags];
  if (structured) parts.push(option(8, Buffer.alloc(0)), option(10, Buffer.concat([name('fuzz'), u32(1), name('base:allocation')])));
  parts.push(g.int(5) === 0 ? option(1, Buffer.from('fuzz')) : option(7, Buffer.concat([name('fuzz'), u16(0)])));
  return Buffer.concat(parts);
}

function someRequest(g: Gen, cookie: number): Buffer {
  const type = g.pick([0, 0, 1, 1, 3, 4, 5, 6, 7, 2, g.int(12)]);
  const flags = g.int(4) === 0 ? g.int(32) : g.pick([0, 0, 1]);
  const offset = BigInt(g.int(4) === 0 ? g.int(2 * SIZE) : g.int(SIZE / 512) * 512);
  const count = g.pick([0, 1, 512, 4096, g.int(70000)]);
  const payload = type === 1 ? Buffer.alloc(g.int(8) === 0 ? g.int(4096) : count, 0xa5) : undefined;
  return request(type, BigInt(cookie), offset, payload === undefined ? count : payload.length, flags, payload);
}

/** Flips, overwrites, inserts, deletes or truncates a few bytes of `b` after `from`. */
function mutate(g: Gen, b: Buffer, from: number): Buffer {
  let out = Buffer.from(b);
  for (let n = 1 + g.int(3); n > 0 && out.length > from; n--) {
    const at = from + g.int(out.length - from);
    switch (g.int(5)) {
      case 0:
        out[at] = (out[at] as number) ^ (1 << g.int(8));
        break;
      case 1:
        out[at] = g.int(256);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), g.bytes(1 + g.int(16)), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + g.int(16))]);
        break;
      default:
        out = out.subarray(0, at);
    }
  }
  return out;
}

/** The bytes of case number `n`. */
export function fuzzCase(seed: number, n: number): Buffer {
  const g = new Gen(seededRandom(seed ^ Math.imul(n + 1, 0x9e3779b1)));
  switch (g.int(4)) {
    case 0:
      return g.bytes(g.int(300));
    case 1: {
      const opts = Array.from({ length: 1 + g.int(6) }, () => someOption(g));
      return mutate(g, Buffer.concat([u32(g.pick([3, 1, 0, g.int(16)])), ...opts]), 0);
    }
    default: {
      const head = enter(g);
      const reqs = Array.from({ length: 1 + g.int(12) }, (_, i) => someRequest(g, i));
      const body = Buffer.concat(reqs);
      return g.int(3) === 0 ? Buffer.concat([head, body]) : mutate(g, Buffer.concat([head, body]), head.length);
    }
  }
}

/**
 * Sends one case in a few pieces, reads until the server closes or goes
 * quiet, then hangs up. Resolves with the number of bytes the server sent.
 */
function runCase(socket: string, bytes: Buffer, n: number): Promise<number> {
  const g = new Gen(seededRandom(n));
  return new Promise((resolve) => {
    const s = connect(socket);
    let quiet: NodeJS.Timeout | undefined;
    let received = 0;
    const done = () => {
      clearTimeout(quiet);
      s.destroy();
      resolve(received);
    };
    const idle = () => {
      clearTimeout(quiet);
      quiet = setTimeout(done, 60);
    };
    s.on('error', done);
    s.on('close', done);
    s.on('data', (b: Buffer) => {
      received += b.length;
      idle();
    });
    s.on('connect', () => {
      let at = 0;
      const send = () => {
        if (s.destroyed) return;
        if (at >= bytes.length) {
          if (g.int(2) === 0) s.end();
          idle();
          return;
        }
        const piece = 1 + g.int(Math.max(1, bytes.length));
        s.write(bytes.subarray(at, at + piece));
        at += piece;
        setImmediate(send);
      };
      send();
    });
  });
}

describe('fuzzing the running server', () => {
  let dir: string;
  let server: ServerProcess;
  const intended = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) intended[i] = (i * 31 + 7) & 0xff;

  beforeAll(async () => {
    dir = tempDir();
    writeFileSync(join(dir, 'fuzz'), Buffer.alloc(SIZE));
    writeFileSync(join(dir, 'data'), Buffer.alloc(SIZE));
    server = await startServer(['--handshake-timeout=2', 'file', `dir=${dir}`]);
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`seed ${SEED}, ${SECONDS} s: the server survives, answers a normal client, the other export holds only its writes`, async () => {
    const dataUri = server.uriFor('data');
    const writeData = (from: number, to: number) =>
      nbdsh(dataUri, `data = open(${JSON.stringify(join(dir, 'intended'))}, "rb").read()\nfor off in range(${from}, ${to}, 65536):\n    h.pwrite(data[off:off + 65536], off, nbd.CMD_FLAG_FUA)`);
    writeFileSync(join(dir, 'intended'), intended);
    await writeData(0, SIZE / 2);
    const deadline = Date.now() + SECONDS * 1000;
    let cases = 0;
    /** Cases the server answered past its greeting: the fuzzer gets beyond the first bytes. */
    let answered = 0;
    const worker = async () => {
      while (Date.now() < deadline) {
        const n = cases++;
        if ((await runCase(server.socket, fuzzCase(SEED, n), n)) > 18) answered++;
      }
    };
    // The normal client writes the other half while the fuzzer runs.
    await Promise.all([...Array.from({ length: PARALLEL }, worker), writeData(SIZE / 2, SIZE)]);
    console.log(`fuzz: seed ${SEED}, ${cases} cases in ${SECONDS} s, ${answered} answered past the greeting`);
    expect(answered).toBeGreaterThan(cases / 4);
    await nbdsh(dataUri, `assert h.pread(${SIZE}, 0) == open(${JSON.stringify(join(dir, 'intended'))}, "rb").read()`);
    expect(readFileSync(join(dir, 'data')).equals(intended)).toBe(true);
    expect(statSync(join(dir, 'fuzz')).size).toBe(SIZE);
    expect(server.child.exitCode).toBeNull();
    expect(server.stderr()).not.toMatch(/unhandled|uncaught|TypeError|RangeError|ReferenceError|\n\s+at /i);
    expect(await server.stop()).toBe(0);
  }, SECONDS * 1000 + 60_000);
});
