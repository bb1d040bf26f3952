import { closeSync, copyFileSync, mkdirSync, openSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, run, runOk, startServer } from '@nbdkit-ts/testing';
import { Superblock } from '../src/ext2fs/superblock.js';
import {
  applyWorkload,
  debugfs,
  dumpEquals,
  fileEquals,
  fsck,
  KINDS,
  makeImage,
  randomWorkload,
  replayScript,
  saveWorkload,
  useScratchTree,
} from './fixtures.js';

const READONLY_EXPORT = join(dirname(fileURLToPath(import.meta.url)), 'readonly-export-filter.js');

/** The error a server start fails with (its stderr). */
async function startFailure(args: string[]): Promise<string> {
  try {
    const server = await startServer(args);
    await server.stop();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`the server started with ${args.join(' ')}`);
}

/** Starts a server, connects with nbdinfo (which must fail), and returns the server's messages. */
async function openFailure(args: string[], exportName = ''): Promise<string> {
  const server = await startServer(args);
  try {
    const r = await run('nbdinfo', [server.uriFor(exportName)]);
    expect(r.status).not.toBe(0);
  } finally {
    await server.stop();
  }
  return server.stderr();
}

interface Info {
  is_read_only: boolean;
}

describe('ext2 filter errors and read-only mounts', () => {
  const scratch = useScratchTree();
  let image: string;

  beforeAll(async () => {
    image = join(scratch.dir, 'fs.img');
    await makeImage(image, 'ext4', scratch.tree);
  });

  /** A copy of the image to spoil. */
  function copy(name: string): string {
    const out = join(scratch.dir, name);
    copyFileSync(image, out);
    return out;
  }

  it('ext2file= is required, must be absolute, and may be given once', async () => {
    expect(await startFailure(['--filter=ext2', 'file', image])).toMatch(/ext2file= is required/);
    expect(await startFailure(['--filter=ext2', 'file', image, 'ext2file=disks/vm.img'])).toMatch(
      /ext2file=disks\/vm\.img: expected an absolute path inside the filesystem .* or 'exportname'/,
    );
    expect(await startFailure(['--filter=ext2', 'file', image, 'ext2file=/a', 'ext2file=/b'])).toMatch(/ext2file= given more than once/);
  });

  it.each([
    ['/nope', '/nope: no such file or directory in the filesystem'],
    ['/disks/nope.img', '/disks/nope.img: no such file or directory in the filesystem'],
    ['/disks', '/disks: is a directory, not a regular file'],
    ['/', '/: is a directory, not a regular file'],
    ['/link', '/link: is a symbolic link (symbolic links are not followed)'],
    ['/tiny.txt/x', '/tiny.txt: not a directory'],
    ['/fifo', '/fifo: not a regular file'],
  ])('ext2file=%s is refused: %s', async (path, message) => {
    expect(await openFailure(['--filter=ext2', 'file', image, `ext2file=${path}`])).toContain(message);
  });

  it('ext2file=exportname refuses an empty export name, and reports a missing file', async () => {
    const args = ['--filter=ext2', 'file', image, 'ext2file=exportname'];
    expect(await openFailure(args, '')).toContain('ext2file=exportname: the client must name the file as its export name');
    expect(await openFailure(args, 'disks/missing.img')).toContain('/disks/missing.img: no such file or directory in the filesystem');
  });

  it('refuses what is not an ext2/3/4 filesystem, a truncated image, and a bad superblock checksum', async () => {
    const zeroes = join(scratch.dir, 'zeroes.img');
    writeFileSync(zeroes, Buffer.alloc(1024 * 1024));
    expect(await openFailure(['--filter=ext2', 'file', zeroes, 'ext2file=/x'])).toContain('not an ext2/3/4 filesystem (bad superblock magic 0x0)');
    const tiny = join(scratch.dir, 'tiny.img');
    writeFileSync(tiny, Buffer.alloc(1000));
    expect(await openFailure(['--filter=ext2', 'file', tiny, 'ext2file=/x'])).toContain('the image (1000 bytes) is too small to hold an ext2/3/4 filesystem');

    const short = copy('short.img');
    truncateSync(short, 64 * 1024 * 1024);
    expect(await openFailure(['--filter=ext2', 'file', short, 'ext2file=/disks/vm.img'])).toMatch(
      /the image \(67108864 bytes\) is smaller than the filesystem \(134217728 bytes\)/,
    );

    const bad = copy('bad-csum.img');
    const fd = openSync(bad, 'r+');
    writeSync(fd, Buffer.from('spoilt'), 0, 6, 1024 + 0x78); // s_volume_name, without fixing s_checksum
    closeSync(fd);
    expect(await openFailure(['--filter=ext2', 'file', bad, 'ext2file=/disks/vm.img'])).toContain('superblock checksum does not match');
  });

  it('refuses a file whose inode checksum does not match', async () => {
    const bad = copy('bad-inode.img');
    const ino = Number(/Inode: (\d+)/.exec(await debugfs(bad, 'stat /disks/vm.img'))?.[1]);
    const stats = await debugfs(bad, 'stats');
    const table = Number(/Group {2}0: .*inode table at (\d+)/.exec(stats)?.[1]);
    const inodeSize = Number(/Inode size:\s+(\d+)/.exec(stats)?.[1]);
    const perGroup = Number(/Inodes per group:\s+(\d+)/.exec(stats)?.[1]);
    const blockSize = Number(/Block size:\s+(\d+)/.exec(stats)?.[1]);
    expect(ino).toBeLessThanOrEqual(perGroup);
    const fd = openSync(bad, 'r+');
    writeSync(fd, Buffer.from([0x7f]), 0, 1, table * blockSize + (ino - 1) * inodeSize + 0x08); // i_atime
    closeSync(fd);
    expect(await openFailure(['--filter=ext2', 'file', bad, 'ext2file=/disks/vm.img'])).toContain(`inode ${ino}: checksum does not match`);
  });

  it('refuses a corrupt superblock, an impossible block size, a group descriptor whose checksum does not match, an encrypted file, a bad extent header and an extent block whose checksum does not match', async () => {
    const sb = copy('bad-sb.img');
    await debugfs(sb, 'ssv blocks_per_group 0', true);
    expect(await openFailure(['--filter=ext2', 'file', sb, 'ext2file=/disks/vm.img'])).toContain('corrupt superblock: blocks per group 0');

    // s_log_block_size 7 (128 KiB blocks), with the superblock checksum made right again.
    const big = copy('bad-block-size.img');
    const bytes = new Uint8Array(1024);
    const bfd = openSync(big, 'r+');
    readSync(bfd, bytes, 0, 1024, 1024);
    new DataView(bytes.buffer).setUint32(0x18, 7, true);
    new Superblock(bytes).updateChecksum();
    writeSync(bfd, bytes, 0, 1024, 1024);
    closeSync(bfd);
    expect(await openFailure(['--filter=ext2', 'file', big, 'ext2file=/disks/vm.img'])).toContain('unsupported block size 2^(10+7)');

    // A byte of group descriptor 0 (bg_itable_unused, in the block after the superblock's).
    const gd = copy('bad-gd.img');
    const gfd = openSync(gd, 'r+');
    writeSync(gfd, Buffer.from([0x55]), 0, 1, 4096 + 0x1c);
    closeSync(gfd);
    expect(await openFailure(['--filter=ext2', 'file', gd, 'ext2file=/disks/vm.img'])).toContain('group descriptor 0: checksum does not match');

    const enc = copy('encrypted-file.img');
    await debugfs(enc, 'sif /disks/vm.img flags 0x80800', true);
    const ino = /Inode: (\d+)/.exec(await debugfs(enc, 'stat /disks/vm.img'))?.[1] as string;
    expect(await openFailure(['--filter=ext2', 'file', enc, 'ext2file=/disks/vm.img'])).toContain(`inode ${ino}: the file is encrypted`);

    const magic = copy('bad-magic.img');
    await debugfs(magic, 'sif /disks/vm.img block[0] 0x0001f30b', true);
    expect(await openFailure(['--filter=ext2', 'file', magic, 'ext2file=/disks/vm.img'])).toContain(`inode ${ino}: bad extent header magic 0xf30b`);

    const tree = copy('bad-tree.img');
    const leaf = Number(/^\s*0\/\s*1\s+1\/\s*1\s+\d+\s+-\s+\d+\s+(\d+)/m.exec(await debugfs(tree, 'ex /disks/frag.img'))?.[1]);
    const frag = /Inode: (\d+)/.exec(await debugfs(tree, 'stat /disks/frag.img'))?.[1] as string;
    expect(leaf).toBeGreaterThan(0);
    const fd = openSync(tree, 'r+');
    writeSync(fd, Buffer.from([0xff]), 0, 1, leaf * 4096 + 12 * 100); // an unused entry slot
    closeSync(fd);
    expect(await openFailure(['--filter=ext2', 'file', tree, 'ext2file=/disks/frag.img'])).toContain(
      `inode ${frag}: extent block ${leaf}: checksum does not match`,
    );
  });

  it('refuses unknown incompatible features, naming them', async () => {
    const enc = copy('encrypt.img');
    await debugfs(enc, 'feature encrypt', true);
    expect(await openFailure(['--filter=ext2', 'file', enc, 'ext2file=/disks/vm.img'])).toContain(
      'unsupported incompatible filesystem features: encrypt',
    );
  });

  it.each([
    ['needs_recovery', 'feature needs_recovery', 'serving read-only: the journal needs recovery'],
    ['errors', 'ssv state 2', 'serving read-only: the filesystem is marked as having errors'],
    ['quota', 'feature quota', 'serving read-only: read-only-compatible features that writing cannot keep up to date: quota'],
  ])('a filesystem with %s is served read-only with a warning', async (name, request, warning) => {
    const spoilt = copy(`${name}.img`);
    await debugfs(spoilt, request, true);
    const server = await startServer(['--filter=ext2', 'file', spoilt, 'ext2file=/disks/vm.img']);
    try {
      const info = JSON.parse((await runOk('nbdinfo', ['--json', server.uri])).stdout) as { exports: Info[] };
      expect(info.exports[0]?.is_read_only).toBe(true);
      expect(server.stderr()).toContain(warning);
      const r = await run('nbdsh', ['-u', server.uri, '-c', 'h.pwrite(b"x", 0)']);
      expect(r.status).not.toBe(0);
      await nbdsh(server.uri, `assert h.pread(16, 0) == bytes.fromhex('${(scratch.tree.files.get('/disks/vm.img') as Buffer).subarray(0, 16).toString('hex')}')`);
    } finally {
      await server.stop();
    }
  });

  it('-r mounts read-only and leaves the image untouched', async () => {
    const ro = copy('ro.img');
    const server = await startServer(['-r', '--filter=ext2', 'file', ro, 'ext2file=/disks/holes.img']);
    try {
      const info = JSON.parse((await runOk('nbdinfo', ['--json', server.uri])).stdout) as { exports: Info[] };
      expect(info.exports[0]?.is_read_only).toBe(true);
      expect(server.stderr()).not.toContain('serving read-only');
    } finally {
      await server.stop();
    }
    await fsck(ro);
    const [a, b] = await Promise.all([runOk('sha256sum', [ro]), runOk('sha256sum', [image])]);
    expect(a.stdout.split(' ')[0]).toBe(b.stdout.split(' ')[0]);
  });

  it('a read-only first connection leaves the filesystem read-write for the connections after it', async () => {
    const rw = copy('rw.img');
    const path = '/disks/holes.img';
    const contents = Buffer.from(scratch.tree.files.get(path) as Buffer);
    const w = randomWorkload(5, contents.length, 100);
    const server = await startServer([`--filter=${READONLY_EXPORT}`, '--filter=ext2', 'file', rw, `ext2file=${path}`]);
    try {
      const readOnly = async (name: string) => (JSON.parse((await runOk('nbdinfo', ['--json', server.uriFor(name)])).stdout) as { exports: Info[] }).exports[0]?.is_read_only;
      expect(await readOnly('ro')).toBe(true);
      expect(await readOnly('')).toBe(false);
      await nbdsh(server.uri, replayScript(saveWorkload(scratch.dir, 'rw', w)));
      applyWorkload(contents, w);
      expect((await run('nbdsh', ['-u', server.uriFor('ro'), '-c', 'h.pwrite(b"x", 0)'])).status).not.toBe(0);
      for (const name of ['', 'ro']) {
        const out = join(scratch.dir, 'rw-read-back.bin');
        await runOk('nbdcopy', [server.uriFor(name), out]);
        expect(fileEquals(out, contents), `read back through export "${name}"`).toBe(true);
      }
    } finally {
      await server.stop();
    }
    await fsck(rw);
    expect(await dumpEquals(rw, path, join(scratch.dir, 'rw-dump.bin'), contents)).toBe(true);
  });

  it.each(['ext4', 'ext2'] as const)('%s: a write into a hole of a full filesystem fails with ENOSPC and leaves it consistent', async (kind) => {
    const small = join(scratch.dir, `full-${kind}`);
    mkdirSync(join(small, 'tree'), { recursive: true });
    const fd = openSync(join(small, 'tree/big-sparse.img'), 'w');
    writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 32 * 1024 * 1024 - 4096);
    closeSync(fd);
    const img = join(small, 'fs.img');
    await runOk('mke2fs', ['-q', ...KINDS[kind], '-d', join(small, 'tree'), img, '8M']);
    const server = await startServer(['--filter=ext2', 'file', img, 'ext2file=/big-sparse.img']);
    try {
      const r = await run('nbdsh', [
        '-u',
        server.uri,
        '-c',
        `
import errno
written = 0
try:
    for i in range(0, 32 * 1024 * 1024 - 4096, 1024 * 1024):
        h.pwrite(bytes([i % 251 + 1]) * (1024 * 1024), i)
        written += 1
except nbd.Error as e:
    assert e.errnum == errno.ENOSPC, e
    print('stopped after', written)
h.flush()
`,
      ]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/stopped after [1-7]$/m);
    } finally {
      await server.stop();
    }
    await fsck(img);
  });
});
