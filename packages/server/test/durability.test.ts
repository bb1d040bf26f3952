import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { seededRandom, startServer, tempDir } from '@nbdkit-ts/testing';
import { openExport } from './storm-client.js';
import { NBD_CMD_FLAG_FUA, NBD_CMD_FLUSH, NBD_CMD_WRITE } from '../src/protocol/constants.js';

const KILL_POINTS = 24;
const BLOCK = 4096;
const BLOCKS = 1024;
const WINDOW = 8;

/** Integers from 0 to n - 1, the same ones for the same seed. */
function rng(seed: number): (n: number) => number {
  const next = seededRandom(seed);
  return (n) => Math.floor(next() * n);
}

/** The block a write puts down: its tag in every word, so a torn or missing write shows. */
function blockOf(tag: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i += 4) b.writeUInt32LE(tag, i);
  return b;
}

describe('SIGKILL in a stream of FUA and flushed writes', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`loses no acknowledged write at any of ${KILL_POINTS} kill points`, async () => {
    let checked = 0;
    for (let round = 0; round < KILL_POINTS; round++) {
      const image = join(dir, 'disk.img');
      writeFileSync(image, Buffer.alloc(BLOCK * BLOCKS));
      const server = await startServer(['file', image]);
      // Whatever fails below, the server of this round does not outlive it.
      onTestFinished(async () => {
        await server.stop('SIGKILL');
      });
      const c = await openExport(server.socket);
      const random = rng(round + 1);
      const killAfter = 3 + random(60);
      // Each write goes to its own block, so what must be there is exact.
      const blocks = Array.from({ length: BLOCKS }, (_, i) => i).sort(() => random(3) - 1);
      const sent = new Map<bigint, { kind: 'write' | 'flush'; block?: number; tag?: number; fua?: boolean; ackedBefore?: Set<number> }>();
      const acked = new Set<number>();
      const durable = new Map<number, number>();
      let cookie = 1n;
      let writes = 0;
      const sendOne = () => {
        if (writes > 0 && random(5) === 0) {
          // A flush covers every write acknowledged before it was sent.
          sent.set(cookie, { kind: 'flush', ackedBefore: new Set(acked) });
          c.sendRequest(NBD_CMD_FLUSH, cookie++, 0n, 0);
          return;
        }
        const block = blocks[writes++] as number;
        const tag = ((round + 1) << 16) | writes;
        const fua = random(2) === 0;
        sent.set(cookie, { kind: 'write', block, tag, fua });
        c.sendRequest(NBD_CMD_WRITE, cookie++, BigInt(block * BLOCK), BLOCK, fua ? NBD_CMD_FLAG_FUA : 0, blockOf(tag));
      };
      for (let i = 0; i < WINDOW; i++) sendOne();
      for (let replies = 0; ; replies++) {
        const r = await c.readSimpleReply();
        expect(r.error).toBe(0);
        const req = sent.get(r.cookie);
        if (req?.kind === 'write') {
          acked.add(req.tag as number);
          if (req.fua === true) durable.set(req.block as number, req.tag as number);
        } else if (req?.kind === 'flush') {
          for (const [, w] of sent) if (w.kind === 'write' && req.ackedBefore?.has(w.tag as number)) durable.set(w.block as number, w.tag as number);
        }
        if (replies + 1 >= killAfter) {
          server.child.kill('SIGKILL');
          break;
        }
        sendOne();
      }
      expect(await server.stop('SIGKILL')).toBe(128);
      c.close();
      const disk = readFileSync(image);
      for (const [block, tag] of durable) {
        expect(disk.subarray(block * BLOCK, (block + 1) * BLOCK).equals(blockOf(tag)), `round ${round} block ${block}`).toBe(true);
        checked++;
      }
    }
    console.log(`durability: ${KILL_POINTS} kill points, ${checked} acknowledged writes found on disk`);
    expect(checked).toBeGreaterThan(KILL_POINTS);
  });
});
