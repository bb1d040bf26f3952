import { openSync, closeSync, ftruncateSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, run, runOk, tempDir } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const MiB = 1024 * 1024;

/** Runs `nbdkit-ts --filter=offset file IMAGE PARAMS... --run COMMAND`. */
const serve = (image: string, params: string[], command: string) =>
  run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'file', image, ...params, '--run', command]);

describe('the offset filter over a file', () => {
  let dir: string;
  let image: string;

  beforeAll(() => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    const fd = openSync(image, 'w');
    ftruncateSync(fd, 16 * MiB);
    writeSync(fd, Buffer.from('before the window'), 0, undefined, MiB - 17);
    writeSync(fd, Buffer.from('first byte of the window'), 0, undefined, MiB);
    writeSync(fd, Buffer.from('after the window'), 0, undefined, 9 * MiB);
    closeSync(fd);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves range bytes from offset, and writes land there in the disk beneath', async () => {
    const r = await serve(image, ['offset=1M', 'range=8M'], `nbdsh -u "$uri" -c '
assert h.get_size() == 8 << 20, h.get_size()
assert h.pread(24, 0) == b"first byte of the window"
h.pwrite(b"last bytes", (8 << 20) - 10)
h.flush()
'`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const disk = readFileSync(image);
    expect(disk.subarray(9 * MiB - 10, 9 * MiB).toString()).toBe('last bytes');
    expect(disk.subarray(9 * MiB, 9 * MiB + 16).toString()).toBe('after the window');
    expect(disk.subarray(MiB - 17, MiB).toString()).toBe('before the window');
  });

  it('goes to the end of the disk beneath without range=', async () => {
    const r = await serve(image, ['offset=15M'], 'nbdinfo --size "$uri"');
    expect(r.stdout.trim()).toBe(String(MiB));
  });

  it('moves block status by the offset', async () => {
    const sparse = join(dir, 'sparse.img');
    const fd = openSync(sparse, 'w');
    ftruncateSync(fd, 16 * MiB);
    writeSync(fd, Buffer.alloc(4096, 1), 0, undefined, 3 * MiB);
    closeSync(fd);
    const { stdout } = await runOk(process.execPath, [
      cliPath(), '-U', '-', `--filter=${FILTER}`, 'file', sparse, 'offset=1M', 'range=8M', '--run', 'nbdinfo --map --json "$uri"',
    ]);
    const map = (JSON.parse(stdout) as { offset: number; length: number; type: number }[]).map(({ offset, length, type }) => ({ offset, length, type }));
    expect(map).toEqual([
      { offset: 0, length: 2 * MiB, type: 3 },
      { offset: 2 * MiB, length: 4096, type: 0 },
      { offset: 2 * MiB + 4096, length: 6 * MiB - 4096, type: 3 },
    ]);
  });

  it('refuses a window that does not fit, when a client connects', async () => {
    const r = await serve(image, ['offset=12M', 'range=8M'], 'nbdinfo "$uri"');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('offset=12582912 range=8388608 ends beyond the end of the disk beneath (16777216 bytes)');
  });

  it.each([
    ['offset=lots', 'offset=lots: expected a size such as 1048576, 64K, 1M or 2G'],
    ['range=0', 'range=0: the range must not be empty'],
  ])('refuses %s, naming the parameter', async (param, message) => {
    const r = await serve(image, [param], 'true');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
