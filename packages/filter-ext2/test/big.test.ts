import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, runOk, startServer } from '@nbdkit-ts/testing';
import { fsck, randomBytes, saveWorkload, scratchDir, type Op } from './fixtures.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const SIZE = 6 * GiB;
/** The data of the sparse 6 GiB file: one chunk across the 4 GiB line, one past it, one at the end. */
const CHUNKS: [number, Buffer][] = [
  [4 * GiB - 4096, randomBytes(8192, 11)],
  [5 * GiB, randomBytes(100_000, 12)],
  [SIZE - 4096, randomBytes(4096, 13)],
];

/** The original contents of `[off, off + len)` of the file. */
function original(off: number, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (const [at, data] of CHUNKS) {
    const from = Math.max(at, off);
    const to = Math.min(at + data.length, off + len);
    if (from < to) data.copy(out, from - off, from - at, to - at);
  }
  return out;
}

/** An nbdsh script that checks each `[off, len, contents]` range reads as `contents` (kept in files under `dir`). */
function readCheck(dir: string, ranges: [number, number, Buffer][]): string {
  return ranges
    .map(([off, len, want], i) => {
      const file = join(dir, `want-${i}.bin`);
      writeFileSync(file, want);
      return `assert h.pread(${len}, ${off}) == open(${JSON.stringify(file)}, 'rb').read(), 'at ${off}'`;
    })
    .join('\n');
}

describe('a sparse 2 TiB filesystem holding a sparse 6 GiB file', () => {
  let dir: string;
  let image: string;

  beforeAll(async () => {
    dir = scratchDir();
    mkdirSync(join(dir, 'tree/d'), { recursive: true });
    const fd = openSync(join(dir, 'tree/d/huge.img'), 'w');
    for (const [at, data] of CHUNKS) writeSync(fd, data, 0, data.length, at);
    ftruncateSync(fd, SIZE);
    closeSync(fd);
    image = join(dir, 'fs.img');
    writeFileSync(image, '');
    await runOk('truncate', ['-s', '2T', image]);
    await runOk('mke2fs', ['-q', '-t', 'ext4', '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', '-d', join(dir, 'tree'), image]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads across and past 4 GiB, and reports the holes', async () => {
    const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=/d/huge.img', '-r']);
    try {
      const info = JSON.parse((await runOk('nbdinfo', ['--json', server.uri])).stdout) as { exports: { 'export-size': number }[] };
      expect(info.exports[0]?.['export-size']).toBe(SIZE);
      await nbdsh(
        server.uri,
        readCheck(dir, [
          [4 * GiB - 6000, 12000, original(4 * GiB - 6000, 12000)],
          [5 * GiB - 10, 100_020, original(5 * GiB - 10, 100_020)],
          [SIZE - 5000, 5000, original(SIZE - 5000, 5000)],
          [2 * GiB, 65536, Buffer.alloc(65536)],
        ]),
      );
      const map = JSON.parse((await runOk('nbdinfo', ['--map', '--json', server.uri])).stdout) as { offset: number; length: number; type: number }[];
      const typeAt = (at: number) => map.find((e) => e.offset <= at && at < e.offset + e.length)?.type;
      expect(typeAt(0)).toBe(3);
      expect(typeAt(4 * GiB - 1)).toBe(0);
      expect(typeAt(4 * GiB + 4095)).toBe(0);
      expect(typeAt(4 * GiB + 8192)).toBe(3);
      expect(typeAt(5 * GiB + 50_000)).toBe(0);
      expect(map.reduce((n, e) => n + e.length, 0)).toBe(SIZE);
    } finally {
      await server.stop();
    }
  });

  it('writes past 4 GiB and fills more than the first group (initialising BLOCK_UNINIT groups); e2fsck stays clean', async () => {
    // debugfs -c reads the group descriptors without the bitmaps: fast on 16384 groups.
    const group1 = async () => /Group {2}1:.*\n.*\n(.*)/.exec((await runOk('debugfs', ['-c', '-R', 'stats', image])).stdout)?.[1] ?? '';
    expect(await group1()).toMatch(/Block not init/);
    // 96 MiB of 4 MiB writes at 1 GiB (more than group 0 has free), and small unaligned writes elsewhere.
    // The large writes take windows of one 4 MiB buffer shifted by a block each: every chunk differs.
    const ops: Op[] = [];
    for (let i = 0; i < 24; i++) ops.push({ kind: 'write', off: GiB + i * 4 * MiB, len: 4 * MiB, fua: false, pos: i * 4096 });
    let pos = 4 * MiB + 24 * 4096;
    for (const off of [4 * GiB - 4096 - 100, 4 * GiB + 300_000 + 7, 4.5 * GiB + 1, 5 * GiB + 99_000, 5.75 * GiB - 3, SIZE - 10]) {
      const len = Math.min(20_000, SIZE - off);
      ops.push({ kind: 'write', off, len, fua: false, pos });
      pos += len;
    }
    const data = randomBytes(pos, 99);
    const files = saveWorkload(dir, 'big', { ops, data });
    const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=/d/huge.img']);
    try {
      await nbdsh(
        server.uri,
        `
import json
ops = json.load(open(${JSON.stringify(files.ops)}))
data = open(${JSON.stringify(files.data)}, 'rb').read()
for op in ops:
    h.pwrite(data[op['pos']:op['pos'] + op['len']], op['off'])
h.flush()
for op in ops:
    assert h.pread(op['len'], op['off']) == data[op['pos']:op['pos'] + op['len']], op['off']
`,
      );
    } finally {
      await server.stop();
    }
    await fsck(image);
    expect(await group1()).not.toMatch(/Block not init/);
    // Independent check of where the data went: debugfs maps logical blocks, the image is read directly.
    const samples = ops.flatMap((op) => [op.off, op.off + op.len - 1]).map((b) => Math.floor(b / 4096));
    const cmds = join(dir, 'bmap.cmds');
    writeFileSync(cmds, samples.map((b) => `bmap /d/huge.img ${b}\n`).join(''));
    const physical = (await runOk('debugfs', ['-f', cmds, image])).stdout
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number);
    expect(physical.length).toBe(samples.length);
    const fd = openSync(image, 'r');
    try {
      samples.forEach((lblk, i) => {
        const got = Buffer.alloc(4096);
        readSync(fd, got, 0, 4096, (physical[i] as number) * 4096);
        const want = original(lblk * 4096, 4096);
        for (const op of ops) {
          const from = Math.max(op.off, lblk * 4096);
          const to = Math.min(op.off + op.len, (lblk + 1) * 4096);
          if (from < to) data.copy(want, from - lblk * 4096, op.pos + (from - op.off), op.pos + (to - op.off));
        }
        expect(got.equals(want), `logical block ${lblk}`).toBe(true);
      });
    } finally {
      closeSync(fd);
    }
  });
});
