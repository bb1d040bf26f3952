import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, run, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { allocated, exportInfo, MiB, nbdinfoMap, sparseImage, WITHOUT_KOFFI } from './disk.js';

const SIZE = 64 * MiB;

/** Loop devices need root and a kernel that has them; `losetup -f` finds a free one. */
const loopDevices = process.getuid?.() === 0 && spawnSync('losetup', ['-f'], { stdio: 'ignore' }).status === 0;
if (!loopDevices) console.warn('block device tests skipped: no loop device can be set up here (losetup -f failed or not root)');

async function attach(backing: string, ...options: string[]): Promise<string> {
  return (await runOk('losetup', ['-f', '--show', ...options, backing])).stdout.trim();
}

async function blockdev(option: string, device: string): Promise<number> {
  return Number((await runOk('blockdev', [option, device])).stdout.trim());
}

describe.skipIf(!loopDevices)('a block device (a loop device over a sparse file)', () => {
  let dir: string;
  let backing: string;
  let device: string;
  let server: ServerProcess;
  const devices: string[] = [];

  beforeAll(async () => {
    dir = tempDir();
    backing = join(dir, 'backing.img');
    await sparseImage(backing, SIZE, [
      [0, MiB],
      [8 * MiB, 8 * MiB],
    ]);
    device = await attach(backing);
    devices.push(device);
    server = await startServer(['-v', '-D', 'file.zero=1', 'file', device]);
  });

  afterAll(async () => {
    await server.stop();
    for (const d of devices) await runOk('losetup', ['-d', d]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes its size from the device and reports its preferred block size and rotational flag', async () => {
    const info = await exportInfo(server.uri);
    expect(info['export-size']).toBe(await blockdev('--getsize64', device));
    expect(info['block_size_minimum']).toBe(1);
    expect(info['block_size_preferred']).toBe(Math.max(await blockdev('--getpbsz', device), await blockdev('--getioopt', device), 4096));
    const rotational = readFileSync(`/sys/block/${basename(device)}/queue/rotational`, 'latin1').trim() === '1';
    expect(info['is_rotational']).toBe(rotational);
  });

  it('a device with 4096-byte sectors takes unaligned requests (through the page cache)', async () => {
    const other = join(dir, 'sectors4k.img');
    await sparseImage(other, SIZE, []);
    const dev4k = await attach(other, '-b', '4096');
    devices.push(dev4k);
    const s = await startServer(['file', dev4k]);
    try {
      expect(await blockdev('--getss', dev4k)).toBe(4096);
      expect(await exportInfo(s.uri)).toMatchObject({ block_size_minimum: 1, block_size_preferred: 4096, 'export-size': SIZE });
      await nbdsh(s.uri, `h.pwrite(b'odd', 4097)\nh.flush()\nassert h.pread(5, 4096) == b'\\0odd\\0'`);
    } finally {
      await s.stop();
    }
    expect(readFileSync(other).subarray(4096, 4101)).toEqual(Buffer.from('\0odd\0', 'latin1'));
  });

  it('without the native calls the size comes from sysfs', async () => {
    const s = await startServer(['-v', 'file', device], { env: WITHOUT_KOFFI });
    try {
      expect(await exportInfo(s.uri)).toMatchObject({ 'export-size': SIZE });
      expect(s.stderr()).toContain('native file operations unavailable');
    } finally {
      await s.stop();
    }
  });

  it('writes reach the device and read back', async () => {
    await nbdsh(server.uri, `h.pwrite(b'loop' * 1024, ${MiB})\nh.flush()\nassert h.pread(4, ${MiB}) == b'loop'`);
    expect(readFileSync(backing).subarray(MiB, MiB + 4).toString()).toBe('loop');
  });

  it('trim and zero (may trim) punch holes through the device into the backing file', async () => {
    const before = allocated(backing);
    await nbdsh(server.uri, `h.trim(${2 * MiB}, ${8 * MiB})\nh.zero(${2 * MiB}, ${10 * MiB})\nh.flush()\nassert h.pread(${2 * MiB}, ${10 * MiB}) == bytes(${2 * MiB})`);
    expect(before - allocated(backing)).toBeGreaterThanOrEqual(3 * MiB);
    expect(server.stderr()).toContain(`zero: ${2 * MiB} bytes at ${10 * MiB}: punch hole`);
  });

  it('zero with NO_HOLE uses ZERO_RANGE', async () => {
    await nbdsh(server.uri, `h.zero(${MiB}, ${12 * MiB}, nbd.CMD_FLAG_NO_HOLE)\nassert h.pread(${MiB}, ${12 * MiB}) == bytes(${MiB})`);
    expect(server.stderr()).toContain(`zero: ${MiB} bytes at ${12 * MiB}: ZERO_RANGE`);
    expect(readFileSync(backing).subarray(12 * MiB, 13 * MiB).every((b) => b === 0)).toBe(true);
  });

  it('FAST_ZERO without may-trim fails fast with ENOTSUP: zeroing a device in place may be slow', async () => {
    const r = await run('nbdsh', [
      '-u',
      server.uri,
      '-c',
      `
try:
    h.zero(${MiB}, ${14 * MiB}, nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE)
    raise SystemExit('the fast zero succeeded')
except nbd.Error as e:
    assert e.errno == 'ENOTSUP', e
assert h.pread(4, ${14 * MiB}) != bytes(4)
h.zero(${MiB}, ${14 * MiB}, nbd.CMD_FLAG_FAST_ZERO)
assert h.pread(${MiB}, ${14 * MiB}) == bytes(${MiB})
`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('block status reports the whole device as data: lseek SEEK_HOLE does not work on it', async () => {
    expect(await nbdinfoMap(server.uri)).toEqual([{ start: 0, length: SIZE, data: true, zero: false }]);
  });

  it('dir= lists a link to the device with the device size; fd= serves it too', async () => {
    const images = join(dir, 'images');
    mkdirSync(images);
    symlinkSync(device, join(images, 'disk'));
    const listing = await startServer(['file', `dir=${images}`]);
    try {
      const { stdout } = await runOk('nbdinfo', ['--list', '--json', listing.uri]);
      expect(stdout).toContain('"export-name": "disk"');
      expect((await exportInfo(listing.uriFor('disk')))['export-size']).toBe(SIZE);
    } finally {
      await listing.stop();
    }
    const fd = openSync(device, 'r+');
    try {
      const s = await startServer(['file', 'fd=3'], { fds: [fd] });
      try {
        expect(await exportInfo(s.uri)).toMatchObject({ 'export-size': SIZE, is_read_only: false });
      } finally {
        await s.stop();
      }
    } finally {
      closeSync(fd);
    }
  });
});
