import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, runOk, startServer, tempDir } from '@nbdkit-ts/testing';

describe('parameter errors name the parameter', () => {
  let dir: string;
  let image: string;

  beforeAll(() => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(65536));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts the server with `args` after the plugin name and returns what it said when it refused to start. */
  const refusal = async (args: string[], fds: number[] = []) => {
    const e = await startServer(['file', ...args], { fds }).then(
      async (s) => {
        await s.stop();
        throw new Error(`the server started with ${args.join(' ')}`);
      },
      (err: unknown) => err as Error,
    );
    return e.message;
  };

  it.each([
    [[], 'file: one of file=, dir=, fd= or dirfd= is required'],
    [['file=', 'x'], 'file: file= must not be empty'],
    [['dir='], 'file: dir= must not be empty'],
    [['a.img', 'file=b.img'], 'file: file= given more than once'],
    [['DISK', 'dir=DIR'], 'file: file= and dir= cannot be used together: give one of them'],
    [['dir=DIR', 'fd=7'], 'file: dir= and fd= cannot be used together'],
    [['missing.img'], 'file: file=missing.img: ENOENT: no such file or directory'],
    [['DIR'], 'file: file=DIR: is a directory; use dir=DIR to serve the files in it'],
    [['/dev/null'], 'file: file=/dev/null: not a regular file or block device'],
    [['dir=DISK'], 'file: dir=DISK: not a directory'],
    [['dir=DIR/nowhere'], 'file: dir=DIR/nowhere: ENOENT'],
    [['fd=three'], 'file: fd=three: expected a file descriptor number'],
    [['fd=-1'], 'file: fd=-1: expected a file descriptor number'],
    [['fd=2'], 'file: fd=2: descriptors 0, 1 and 2 are stdin, stdout and stderr; pass one above 2'],
    [['fd=0'], 'file: fd=0: descriptors 0, 1 and 2'],
    [['fd=1000'], 'file: fd=1000: EBADF'],
    [['DISK', 'cache=writeback'], 'file: cache=writeback: expected default or none'],
    [['DISK', 'fadvise=willneed'], 'file: fadvise=willneed: expected normal, random or sequential'],
    [['DISK', 'cache=none', 'cache=none'], 'file: cache= given more than once'],
  ])('%j', async (args, message) => {
    const fill = (s: string) => s.replaceAll('DISK', image).replaceAll('DIR', dir);
    expect(await refusal(args.map(fill))).toContain(fill(message));
  });

  it('fd= naming a directory is refused', async () => {
    const fd = openSync(dir, 'r');
    try {
      expect(await refusal(['fd=3'], [fd])).toContain('file: fd=3: not a regular file or block device');
    } finally {
      closeSync(fd);
    }
  });

  it('--dump-plugin names the sparse-aware calls this system has, as nbdkit does', async () => {
    const r = await runOk(process.execPath, [cliPath(), '--dump-plugin', 'file']);
    expect(r.stdout).toMatch(/^file_extents=yes\nfile_falloc_fl_punch_hole=yes\nfile_falloc_fl_zero_range=yes$/m);
  });

  it('--help lists every parameter', async () => {
    const { stdout } = await runOk(process.execPath, [cliPath(), 'file', '--help']);
    for (const key of ['file=', 'dir=', 'fd=', 'cache=', 'fadvise=']) expect(stdout).toContain(`  ${key}`);
  });
});
