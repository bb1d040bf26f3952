import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLifecycle, cliPath, FAULT_FILTER, fioVerify, MEMORY_PLUGIN, nbdsh, run, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const OVERLAP_CHECK = fileURLToPath(new URL('./overlap-check-filter.js', import.meta.url));
const NO_CACHE = fileURLToPath(new URL('./no-cache-filter.js', import.meta.url));
const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const FINISHED = 'scan: debug: scanned export';

let dir: string;

beforeAll(() => {
  dir = tempDir();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sparse file of `size` bytes. */
async function sparse(name: string, size: string): Promise<string> {
  const path = join(dir, name);
  await runOk('truncate', ['-s', size, path]);
  return path;
}

async function until(what: string, test: () => boolean, timeout = 60_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const count = (s: string, what: string) => s.split(what).length - 1;

/** The extents nbdinfo --map reports, as [offset, length, description]. */
async function map(uri: string): Promise<[number, number, string][]> {
  const { stdout } = await runOk('nbdinfo', ['--map', uri]);
  return stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [offset, length, , description] = l.trim().split(/\s+/);
      return [Number(offset), Number(length), description ?? ''];
    });
}

async function stopped(server: ServerProcess): Promise<void> {
  expect(await server.stop()).toBe(0);
  expect(server.stderr()).not.toContain('contexts still open after cleanup');
}

describe('the scan filter', () => {
  it('scans from startup, before any client: a cow overlay beneath (cow-on-cache) holds the whole disk', async () => {
    const disk = await sparse('before-clients.img', '8M');
    const server = await startServer(['-v', `--filter=${FILTER}`, '--filter=cow', 'file', disk, 'cow-on-cache=true'], { env: { TMPDIR: dir } });
    try {
      await until('the end of the scan', () => server.stderr().includes(FINISHED));
      expect(server.stderr()).not.toMatch(/connection \d+/);
      expect(await map(server.uri)).toEqual([[0, 8 * MiB, 'data']]);
    } finally {
      await stopped(server);
    }
  });

  it('scans the export scan-export= names, and only that one', async () => {
    const images = join(dir, 'images');
    mkdirSync(images);
    await runOk('truncate', ['-s', '4M', join(images, 'a.img'), join(images, 'b.img')]);
    const server = await startServer(['-v', `--filter=${FILTER}`, '--filter=cow', 'file', `dir=${images}`, 'cow-on-cache=true', 'scan-export=b.img'], { env: { TMPDIR: dir } });
    try {
      await until('the end of the scan', () => server.stderr().includes(FINISHED));
      expect(server.stderr()).toContain('scanning export "b.img" (4194304 bytes)');
      expect(await map(server.uriFor('b.img'))).toEqual([[0, 4 * MiB, 'data']]);
      expect(await map(server.uriFor('a.img'))).toEqual([[0, 4 * MiB, 'hole,zero']]);
    } finally {
      await stopped(server);
    }
  });

  it.each([
    ['true (default): a read near the end moves the scan past it', [], false],
    ['false: the scan covers the whole disk', ['scan-ahead=false'], true],
  ])('scan-ahead=%s', async (_, params, whole) => {
    // A slow disk: each read beneath takes 50 ms, and the scan reads it 64K at a time.
    const disk = await sparse(`ahead-${whole}.img`, '16M');
    const args = ['-v', `--filter=${FILTER}`, '--filter=cow', '--filter=delay', 'file', disk, 'cow-on-cache=true', 'delay-read=50ms', 'scan-size=64K', ...params];
    const server = await startServer(args, { env: { TMPDIR: dir } });
    try {
      await nbdsh(server.uri, `h.pread(4096, ${16 * MiB - 4096})`);
      await until('the end of the scan', () => server.stderr().includes(FINISHED));
      const extents = await map(server.uri);
      if (whole) {
        expect(extents).toEqual([[0, 16 * MiB, 'data']]);
      } else {
        expect(extents[0]?.[2]).toBe('data');
        expect(extents.at(-1)?.[2]).toBe('hole,zero');
        expect(extents.at(-1)?.[0]).toBeLessThan(16 * MiB - 65536);
      }
    } finally {
      await stopped(server);
    }
  }, 120_000);

  it('scan-clock=false: the first client after none starts a finished scan over; the default does not', async () => {
    for (const [params, scans] of [[['scan-clock=false'], 2], [[], 1]] as const) {
      const server = await startServer(['-v', `--filter=${FILTER}`, MEMORY_PLUGIN, '4M', ...params]);
      try {
        await until('the end of the scan', () => server.stderr().includes(FINISHED));
        await nbdsh(server.uri, 'h.pread(512, 0)');
        await until(`${scans} scans`, () => count(server.stderr(), FINISHED) >= scans);
        // The server answers one more client, then shows how many scans ended.
        await nbdsh(server.uri, 'h.pread(512, 0)');
        await until('the second client to close', () => count(server.stderr(), 'closed (') >= 2);
        await stopped(server);
        expect(count(server.stderr(), FINISHED)).toBe(params.length === 0 ? 1 : 3);
      } finally {
        await server.stop();
      }
    }
  });

  it('scan-forever=true scans again and again until the server stops', async () => {
    const server = await startServer(['-v', `--filter=${FILTER}`, MEMORY_PLUGIN, '1M', 'scan-forever=true']);
    await until('three scans', () => count(server.stderr(), FINISHED) >= 3);
    await stopped(server);
  });

  it('over a layer that takes one call at a time in the whole server, the scan takes turns with the clients', async () => {
    const image = join(dir, 'serial.img');
    const data = randomBytes(16 * MiB);
    writeFileSync(image, data);
    const server = await startServer(['-v', `--filter=${FILTER}`, `--filter=${OVERLAP_CHECK}`, 'file', image, 'scan-size=64K']);
    try {
      const out = join(dir, 'serial-out.img');
      await runOk('nbdcopy', ['--connections=1', '--requests=8', server.uri, out]);
      expect(sha(readFileSync(out))).toBe(sha(data));
      await until('the end of the scan', () => server.stderr().includes(FINISHED));
      expect(server.stderr()).toContain('in requests of 65536, 1 at a time');
      expect(server.stderr()).not.toContain('overlap:');
    } finally {
      await stopped(server);
    }
  }, 120_000);

  it('fio writes with verification and qemu-img reads through a cow overlay that the scan fills again and again meanwhile', async () => {
    const image = join(dir, 'cow-base.img');
    writeFileSync(image, randomBytes(32 * MiB));
    const before = sha(readFileSync(image));
    const args = ['-v', `--filter=${FILTER}`, '--filter=cow', 'file', image, 'cow-on-cache=true', 'scan-forever=true', 'scan-size=64K'];
    const server = await startServer(args, { env: { TMPDIR: dir } });
    try {
      await fioVerify(server.uri, { bs: '12k', size: '6M', jobs: 4, offsetIncrement: '8M' });
      const out = join(dir, 'cow-out.img');
      await runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', server.uri, out]);
      await runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', out, server.uri]);
      expect(count(server.stderr(), FINISHED)).toBeGreaterThan(0);
    } finally {
      await stopped(server);
    }
    expect(sha(readFileSync(image))).toBe(before);
  }, 120_000);

  it('a scan the layer beneath fails is logged and ends; clients are still served', async () => {
    const server = await startServer([`--filter=${FILTER}`, `--filter=${FAULT_FILTER}`, MEMORY_PLUGIN, '16M', 'fault-calls=cache', 'fault-offset=4M']);
    try {
      await until('the failure', () => server.stderr().includes('error: background task scan:'));
      expect(server.stderr()).toMatch(/scan: error: background task scan: fault: EIO injected into cache of \d+ bytes at \d+/);
      await nbdsh(server.uri, 'h.pwrite(b"still served", 5 << 20)\nassert h.pread(12, 5 << 20) == b"still served"');
    } finally {
      await stopped(server);
    }
  });

  it('a server stopping while a scan request is in flight waits for it, and closes every context', async () => {
    const disk = await sparse('shutdown.img', '64M');
    const server = await startServer(['-v', `--filter=${FILTER}`, '--filter=delay', 'file', disk, 'delay-cache=3600']);
    await until('the scan to start', () => server.stderr().includes('scan: debug: scanning export'));
    await stopped(server);
    expect(server.stderr()).toContain('background task scan: stopped');
  });

  it('clients leaving in every way while the disk is scanned leave no context open', async () => {
    await checkLifecycle([`--filter=${FILTER}`, MEMORY_PLUGIN, '64M', 'scan-forever=true', 'scan-size=512'], { clients: 20 });
  }, 120_000);
});

describe('the scan filter\'s parameters', () => {
  const refused = (...params: string[]) => run(process.execPath, [cliPath(), '-f', '-U', join(dir, 'never.sock'), `--filter=${FILTER}`, MEMORY_PLUGIN, ...params]);

  it.each([
    ['scan-size=1000', 'scan: scan-size=1000: expected a power of two from 512 to 32M'],
    ['scan-size=256', 'scan: scan-size=256: expected a power of two from 512 to 32M'],
    ['scan-size=64M', 'scan: scan-size=64M: expected a power of two from 512 to 32M'],
    ['scan-size=big', 'scan: scan-size=big: expected a size such as'],
    ['scan-ahead=maybe', 'scan: scan-ahead=maybe: expected a boolean'],
    ['scan-clock=2', 'scan: scan-clock=2: expected a boolean'],
    ['scan-forever=always', 'scan: scan-forever=always: expected a boolean'],
  ])('%s is refused', async (param, message) => {
    const r = await refused(param);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('a layer beneath that cannot cache: a warning, no scan', async () => {
    const server = await startServer([`--filter=${FILTER}`, `--filter=${NO_CACHE}`, MEMORY_PLUGIN, '1M']);
    try {
      await until('the warning', () => server.stderr().includes('cannot cache, not scanning'));
    } finally {
      await stopped(server);
    }
  });
});
