import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, startServer, tempDir } from '@nbdkit-ts/testing';
import { allocated, exportInfo, MiB } from './disk.js';

describe('fd=: serve a descriptor the parent process opened', () => {
  let dir: string;
  let image: string;

  beforeAll(() => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(4 * MiB, 0x11));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const serveFd = async (flags: string, args: string[], check: (uri: string) => Promise<void>) => {
    const fd = openSync(image, flags);
    try {
      const server = await startServer(['file', 'fd=3', ...args], { fds: [fd] });
      try {
        await check(server.uri);
      } finally {
        await server.stop();
      }
    } finally {
      closeSync(fd);
    }
  };

  it('a read-write descriptor is served writable, to one connection after another', async () => {
    await serveFd('r+', [], async (uri) => {
      expect(await exportInfo(uri)).toMatchObject({ is_read_only: false, 'export-size': 4 * MiB });
      await nbdsh(uri, `h.pwrite(b'from fd=' * 512, 0)`);
      await nbdsh(uri, `assert h.pread(8, 0) == b'from fd='\nh.trim(${2 * MiB}, ${2 * MiB})`);
    });
    expect(readFileSync(image).subarray(0, 8).toString()).toBe('from fd=');
    expect(allocated(image)).toBeLessThan(3 * MiB);
  });

  it('a read-only descriptor is served read-only', async () => {
    await serveFd('r', [], async (uri) => {
      expect(await exportInfo(uri)).toMatchObject({ is_read_only: true });
      await nbdsh(uri, `assert h.pread(8, 0) == b'from fd='`);
    });
  });
});
