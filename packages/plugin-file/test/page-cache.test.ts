import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, runOk, startServer, tempDir } from '@nbdkit-ts/testing';
import { dropCache, MiB, resident, sparseImage } from './disk.js';

const SIZE = 32 * MiB;

describe('cache=, fadvise= and the CACHE command, seen in the page cache (fincore)', () => {
  let dir: string;
  let image: string;
  let source: string;

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    await sparseImage(image, SIZE, [[0, SIZE]]);
    source = join(dir, 'source.img');
    writeFileSync(source, randomBytes(SIZE));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Serves the image with `args`, runs `use` on it from a cold page cache, and returns the image's resident bytes after. */
  const residentAfter = async (args: string[], use: (uri: string) => Promise<unknown>) => {
    const server = await startServer(['file', image, ...args]);
    try {
      await dropCache(image);
      expect(await resident(image)).toBe(0);
      await use(server.uri);
    } finally {
      await server.stop();
    }
    return resident(image);
  };

  /**
   * While other tests run alongside, a few pages of a file read in can leave the page cache
   * again (seen with nbdkit serving the file too), so "kept in the page cache" means at least
   * 7/8 of it resident, and never more than it.
   */
  const expectKept = (bytes: number, of: number) => {
    expect(bytes).toBeGreaterThanOrEqual((of * 7) / 8);
    expect(bytes).toBeLessThanOrEqual(of);
  };

  // Requests smaller than the kernel's 2 MiB folios, over four connections.
  const readAll = (uri: string) => runOk('nbdcopy', ['--request-size=262144', uri, 'null:']);
  const writeAll = (uri: string) => runOk('nbdcopy', ['--request-size=262144', '--flush', source, uri]);

  it('cache=none drops what was read', async () => {
    const cached = await residentAfter([], readAll);
    const uncached = await residentAfter(['cache=none'], readAll);
    expectKept(cached, SIZE);
    expect(uncached).toBeLessThan(cached / 8);
  });

  it('cache=none drops what was written, once written back', async () => {
    const cached = await residentAfter([], writeAll);
    const uncached = await residentAfter(['cache=none'], writeAll);
    expectKept(cached, SIZE);
    expect(uncached).toBeLessThan(cached / 8);
    expect(readFileSync(image).equals(readFileSync(source))).toBe(true);
  });

  it('fadvise=random turns read-ahead off', async () => {
    const readFirstBlock = (uri: string) => nbdsh(uri, 'h.pread(4096, 0)');
    const normal = await residentAfter([], readFirstBlock);
    const random = await residentAfter(['fadvise=random'], readFirstBlock);
    expect(random).toBeLessThanOrEqual(4096);
    expect(normal).toBeGreaterThan(4096);
  });

  it('the CACHE command reads ahead (posix_fadvise WILLNEED)', async () => {
    const cached = await residentAfter(['fadvise=random'], (uri) => nbdsh(uri, `h.cache(${4 * MiB}, ${8 * MiB})`));
    expectKept(cached, 4 * MiB);
  });
});
