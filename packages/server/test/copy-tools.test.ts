import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fioVerify, nbdsh, run, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

describe('qemu-io, nbdcopy and many connections', () => {
  let dir: string;
  let image: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(64 * MiB));
    server = await startServer(['file', image]);
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the fio job `name` on the export (ioengine=nbd) with `options`, one report for all its jobs. */
  const fio = (name: string, options: string[]) => runOk('fio', [`--name=${name}`, '--ioengine=nbd', `--uri=${server.uri}`, ...options, '--group_reporting']);

  it('qemu-io pattern writes read back through NBD and land in the file', async () => {
    await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 1M 2M', '-c', 'write -P 0xc3 3M 64k', '-c', 'read -P 0x5a 1M 2M', '-c', 'read -P 0xc3 3M 64k', '-c', 'read -P 0 0 1M', server.uri]);
    const data = readFileSync(image);
    expect(data.subarray(MiB, 3 * MiB).every((b) => b === 0x5a)).toBe(true);
    expect(data.subarray(3 * MiB, 3 * MiB + 65536).every((b) => b === 0xc3)).toBe(true);
    const bad = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0x5a 0 4k', server.uri]);
    expect(bad.stdout).toMatch(/Pattern verification failed/);
    expect(bad.status).toBe(1);
  });

  it('nbdcopy round trip keeps the checksum, with 1 and 4 connections', async () => {
    const src = join(dir, 'src.img');
    const out = join(dir, 'out.img');
    const data = randomBytes(32 * MiB);
    writeFileSync(src, data);
    await runOk('nbdcopy', ['--connections=4', src, server.uri]);
    await runOk('nbdcopy', ['--connections=1', server.uri, out]);
    expect(sha(readFileSync(out).subarray(0, data.length))).toBe(sha(data));
    expect(sha(readFileSync(image).subarray(0, data.length))).toBe(sha(data));
  });

  it('fio writes with crc32c verification through ioengine=nbd, 4 jobs deep', async () => {
    await fioVerify(server.uri, { bs: '16k', size: '8M', jobs: 4, offsetIncrement: '16M' });
  });

  it('fio mixes 1 MiB reads and writes 8 deep without an error', async () => {
    const r = await fio('mixed', ['--rw=rw', '--bs=1m', '--iodepth=8', '--size=48M', '--loops=4']);
    expect(r.stdout).toMatch(/mixed/);
    expect(r.stderr).not.toMatch(/error|fail|reset/i);
  });

  it('16 parallel connections each write and verify their own region', async () => {
    const jobs = Array.from({ length: 16 }, (_, i) =>
      nbdsh(
        server.uri,
        `
import random
r = random.Random(${i})
base = ${i} * 4 * 1024 * 1024
blocks = {}
for k in range(64):
    off = base + r.randrange(0, 1024) * 4096
    data = bytes([r.randrange(256)]) * 4096
    h.pwrite(data, off)
    blocks[off] = data
h.flush()
for off, data in blocks.items():
    assert h.pread(4096, off) == data, off
`,
      ),
    );
    await Promise.all(jobs);
  });
});
