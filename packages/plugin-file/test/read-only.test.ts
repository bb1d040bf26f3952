import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, runOk, startServer, tempDir } from '@nbdkit-ts/testing';
import { exportInfo, MiB } from './disk.js';

/** nbdinfo's is_read_only of an export. */
const readOnly = async (uri: string) => (await exportInfo(uri))['is_read_only'];

/** Checks through `uri` that reads work and a write fails with EPERM, leaving `path` as it was. */
async function expectServedReadOnly(uri: string, path: string): Promise<void> {
  const before = readFileSync(path);
  expect(await readOnly(uri)).toBe(true);
  await nbdsh(
    uri,
    `
assert h.is_read_only()
assert h.pread(4, 0) == b'\\x5a' * 4
# Send the write anyway, so that the server refuses it, not libnbd.
h.set_strict_mode(0)
try:
    h.pwrite(b'x' * 512, 0)
    raise SystemExit('the write succeeded')
except nbd.Error as e:
    assert e.errno == 'EPERM', e
`,
  );
  expect(readFileSync(path).equals(before)).toBe(true);
}

// Root may write to any file whatever its mode, so a chmod 444 file proves nothing here: these
// files refuse writing to root too, an immutable file (EPERM) and a read-only mount (EROFS).
describe.skipIf(process.getuid?.() !== 0)('a file that cannot be opened for writing is served read-only', () => {
  let dir: string;
  let immutable: string;
  let mounted: string;

  beforeAll(async () => {
    dir = tempDir();
    immutable = join(dir, 'immutable.img');
    writeFileSync(immutable, Buffer.alloc(MiB, 0x5a));
    await runOk('chattr', ['+i', immutable]);
    const source = join(dir, 'rw');
    mounted = join(dir, 'ro');
    mkdirSync(source);
    mkdirSync(mounted);
    writeFileSync(join(source, 'disk.img'), Buffer.alloc(MiB, 0x5a));
    await runOk('mount', ['--bind', source, mounted]);
    await runOk('mount', ['-o', 'remount,bind,ro', mounted]);
  });

  afterAll(async () => {
    await runOk('chattr', ['-i', immutable]);
    await runOk('umount', [mounted]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an immutable file (chattr +i): opening it read-write fails with EPERM', async () => {
    const server = await startServer(['file', immutable]);
    try {
      await expectServedReadOnly(server.uri, immutable);
    } finally {
      await server.stop();
    }
  });

  it('a file on a read-only bind mount: opening it read-write fails with EROFS', async () => {
    const path = join(mounted, 'disk.img');
    const server = await startServer(['file', path]);
    try {
      await expectServedReadOnly(server.uri, path);
    } finally {
      await server.stop();
    }
  });

  it('dir=: only the export that cannot be written is read-only', async () => {
    const images = join(dir, 'images');
    mkdirSync(images);
    writeFileSync(join(images, 'writable.img'), Buffer.alloc(MiB, 0x5a));
    await runOk('ln', ['-s', immutable, join(images, 'immutable.img')]);
    const server = await startServer(['file', `dir=${images}`]);
    try {
      await expectServedReadOnly(server.uriFor('immutable.img'), immutable);
      expect(await readOnly(server.uriFor('writable.img'))).toBe(false);
    } finally {
      await server.stop();
    }
  });
});

describe('-r', () => {
  it('serves a writable file read-only', async () => {
    const dir = tempDir();
    const image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(MiB, 0x5a));
    const server = await startServer(['-r', 'file', image]);
    try {
      await expectServedReadOnly(server.uri, image);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
