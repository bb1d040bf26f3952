import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nbdsh, runOk, seededRandom, startServer } from '@nbdkit-ts/testing';
import {
  applyWorkload,
  dumpEquals,
  fileEquals,
  fsck,
  makeImage,
  randomBytes,
  randomWorkload,
  replayScript,
  saveWorkload,
  type Op,
  type Workload,
  useScratchTree,
} from './fixtures.js';

const IN_FLIGHT = join(dirname(fileURLToPath(import.meta.url)), 'in-flight-filter.js');

/**
 * The writes of connection `c` of `n`: stripes of `stripe` bytes, every
 * n-th one, over the first `span` bytes, in a shuffled order. Stripes are not
 * block-aligned, so neighbouring connections fill the same holes.
 */
function stripes(c: number, n: number, span: number, stripe: number): Workload {
  const offsets: number[] = [];
  for (let off = c * stripe; off + stripe <= span; off += n * stripe) offsets.push(off);
  const next = seededRandom(1000 + c);
  for (let i = offsets.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [offsets[i], offsets[j]] = [offsets[j] as number, offsets[i] as number];
  }
  const ops: Op[] = offsets.map((off, i) => ({ kind: 'write', off, len: stripe, fua: false, pos: i * stripe }));
  return { ops, data: randomBytes(offsets.length * stripe, 2000 + c) };
}

describe('many connections through one mounted filesystem', () => {
  const scratch = useScratchTree();

  it.each([2, 8])('%i connections writing interleaved stripes into the holes of one file at once', async (n) => {
    const image = join(scratch.dir, `conc-${n}.img`);
    await makeImage(image, 'ext4-csum-inline', scratch.tree);
    const path = '/disks/holes.img';
    const expected = Buffer.from(scratch.tree.files.get(path) as Buffer);
    const server = await startServer(['--filter=ext2', 'file', image, `ext2file=${path}`]);
    try {
      const loads = Array.from({ length: n }, (_, c) => stripes(c, n, 12 * 1024 * 1024, 3000));
      await Promise.all(loads.map((w, c) => nbdsh(server.uri, replayScript(saveWorkload(scratch.dir, `conc-${n}-${c}`, w)))));
      for (const w of loads) applyWorkload(expected, w);
      const out = join(scratch.dir, `conc-${n}-out.bin`);
      await runOk('nbdcopy', [server.uri, out]);
      expect(fileEquals(out, expected)).toBe(true);
    } finally {
      await server.stop();
    }
    await fsck(image);
    expect(await dumpEquals(image, path, join(scratch.dir, `conc-${n}-dump.bin`), expected)).toBe(true);
  });

  it('a layer beneath declaring serialize-requests gets one call at a time from 4 clients reading at once', async () => {
    const image = join(scratch.dir, 'serial.img');
    await makeImage(image, 'ext4', scratch.tree);
    const path = '/disks/vm.img';
    const inFlight = join(scratch.dir, 'in-flight.txt');
    const server = await startServer(['--filter=ext2', `--filter=${IN_FLIGHT}`, 'file', image, `ext2file=${path}`, `in-flight-file=${inFlight}`]);
    try {
      // Four connections, each with a read outstanding at every moment, all checked against the file.
      await nbdsh(
        server.uri,
        `
expected = open(${JSON.stringify(join(scratch.tree.dir, path))}, 'rb').read()
hs = [h] + [nbd.NBD() for _ in range(3)]
for other in hs[1:]:
    other.connect_uri(${JSON.stringify(server.uri)})
for off in range(0, len(expected), 4096):
    n = min(4096, len(expected) - off)
    bufs = [nbd.Buffer(n) for _ in hs]
    cookies = [c.aio_pread(b, off) for c, b in zip(hs, bufs)]
    for c, cookie in zip(hs, cookies):
        while not c.aio_command_completed(cookie):
            c.poll(-1)
    for b in bufs:
        assert b.to_bytearray() == expected[off:off + n], off
`,
      );
    } finally {
      await server.stop();
    }
    expect(readFileSync(inFlight, 'utf8')).toBe('1');
  });

  it('ext2file=exportname: clients pick different files and write them at the same time', async () => {
    const image = join(scratch.dir, 'exports.img');
    await makeImage(image, 'ext4', scratch.tree);
    const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=exportname']);
    const paths = ['/disks/vm.img', '/disks/holes.img', '/many/target.bin'];
    const expected = new Map<string, Buffer>();
    try {
      for (const path of paths) {
        const info = JSON.parse((await runOk('nbdinfo', ['--json', server.uriFor(path)])).stdout) as { exports: { 'export-size': number }[] };
        expect(info.exports[0]?.['export-size']).toBe((scratch.tree.files.get(path) as Buffer).length);
      }
      await Promise.all(
        paths.map((path, i) => {
          const contents = Buffer.from(scratch.tree.files.get(path) as Buffer);
          const w = randomWorkload(300 + i, contents.length, 200, 32768);
          applyWorkload(contents, w);
          expected.set(path, contents);
          return nbdsh(server.uriFor(path), replayScript(saveWorkload(scratch.dir, `export-${i}`, w)));
        }),
      );
    } finally {
      await server.stop();
    }
    await fsck(image);
    for (const path of paths) expect(await dumpEquals(image, path, join(scratch.dir, 'export-dump.bin'), expected.get(path) as Buffer), path).toBe(true);
  });
});
