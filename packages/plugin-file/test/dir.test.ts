import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, run, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { MiB } from './disk.js';

describe('dir=: every regular file and block device in a directory is an export', () => {
  let dir: string;
  let images: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    images = join(dir, 'images');
    mkdirSync(join(images, 'subdir'), { recursive: true });
    writeFileSync(join(images, 'a.img'), Buffer.alloc(MiB, 0xaa));
    writeFileSync(join(images, 'b.img'), Buffer.alloc(2 * MiB, 0xbb));
    writeFileSync(join(images, 'subdir', 'hidden.img'), Buffer.alloc(MiB));
    symlinkSync('b.img', join(images, 'link.img'));
    symlinkSync('nowhere.img', join(images, 'dangling.img'));
    execFileSync('mkfifo', [join(images, 'fifo')]);
    server = await startServer(['-v', 'file', `dir=${images}`]);
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the client is told when it cannot open `name` (libnbd shows the server's message in its debug output). */
  const refusal = async (name: string) => {
    const r = await run('nbdinfo', [server.uriFor(name)], { env: { LIBNBD_DEBUG: '1' } });
    expect(r.status).not.toBe(0);
    return /server error message: (.*)/.exec(r.stderr)?.[1];
  };

  it('nbdinfo --list shows the regular files and links to them, not directories, fifos or dangling links, in the directory order', async () => {
    const { stdout } = await runOk('nbdinfo', ['--list', '--json', server.uri]);
    const exports = (JSON.parse(stdout) as { exports: { 'export-name': string; 'export-size': number }[] }).exports;
    // find lists a directory in the order readdir gives, as nbdkit's own test checks it.
    const order = execFileSync('find', [images, '-mindepth', '1', '-maxdepth', '1', '-printf', '%f\\n'], { encoding: 'utf8' }).split('\n');
    expect(exports.map((e) => e['export-name'])).toEqual(order.filter((n) => ['a.img', 'b.img', 'link.img'].includes(n)));
    expect(exports.map((e) => [e['export-name'], e['export-size']]).sort()).toEqual([
      ['a.img', MiB],
      ['b.img', 2 * MiB],
      ['link.img', 2 * MiB],
    ]);
  });

  it('directory= is dir=, and dirfd= serves the directory open as an inherited descriptor', async () => {
    const fd = openSync(images, 'r');
    const byFd = await startServer(['file', 'dirfd=3'], { fds: [fd] });
    const byName = await startServer(['file', `directory=${images}`]);
    try {
      for (const s of [byFd, byName]) {
        const { stdout } = await runOk('nbdinfo', ['--list', '--json', s.uri]);
        expect((JSON.parse(stdout) as { exports: { 'export-name': string }[] }).exports.map((e) => e['export-name']).sort()).toEqual(['a.img', 'b.img', 'link.img']);
        await nbdsh(s.uriFor('b.img'), `assert h.pread(4, 0) == b'\\xbb' * 4`);
      }
    } finally {
      closeSync(fd);
      expect(await byFd.stop()).toBe(0);
      expect(await byName.stop()).toBe(0);
    }
  });

  it('a client picks an export by name; writes land in that file', async () => {
    await nbdsh(server.uriFor('a.img'), `assert h.pread(4, 0) == b'\\xaa' * 4\nh.pwrite(b'dir!', 4096)`);
    await nbdsh(server.uriFor('link.img'), `assert h.get_size() == ${2 * MiB}\nassert h.pread(4, 0) == b'\\xbb' * 4`);
    expect(readFileSync(join(images, 'a.img')).subarray(4096, 4100).toString()).toBe('dir!');
  });

  it('a file added later is listed and served', async () => {
    writeFileSync(join(images, 'c.img'), Buffer.alloc(MiB));
    const { stdout } = await runOk('nbdinfo', ['--list', '--json', server.uri]);
    expect(stdout).toContain('"export-name": "c.img"');
    await nbdsh(server.uriFor('c.img'), `assert h.get_size() == ${MiB}`);
  });

  it('the default export is refused: the client must name a file', async () => {
    expect(await refusal('')).toContain(`dir=${images} serves the files in it: give one as the export name`);
  });

  it('a name with "/" is refused, even one naming a file in a subdirectory', async () => {
    expect(await refusal('subdir/hidden.img')).toContain('export name "subdir/hidden.img" must not contain "/"');
    expect(await refusal('../images/a.img')).toContain('must not contain "/"');
  });

  it('a name naming nothing, a directory or a fifo is refused', async () => {
    expect(await refusal('missing.img')).toContain(`no export "missing.img": there is no such file in ${images}`);
    expect(await refusal('dangling.img')).toContain('no export "dangling.img"');
    expect(await refusal('subdir')).toContain('export "subdir" is not a regular file or block device');
    expect(await refusal('fifo')).toContain('export "fifo" is not a regular file or block device');
    expect(await refusal('..')).toContain('export name ".." is not a file name');
  });
});
