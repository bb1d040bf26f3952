import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, runOk, startServer, tempDir } from '@nbdkit-ts/testing';
import { PLUGIN } from './disk.js';

let dir: string;
let file: string;
let empty: string;
beforeAll(() => {
  dir = tempDir();
  file = join(dir, 'part');
  empty = join(dir, 'empty');
  writeFileSync(file, Buffer.alloc(4096, 1));
  writeFileSync(empty, '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the server with `args` after the plugin and returns what it said when it refused to start. */
async function refusal(args: readonly string[]): Promise<string> {
  const e = await startServer([PLUGIN, ...args]).then(
    async (s) => {
      await s.stop();
      throw new Error(`the server started with ${args.join(' ')}`);
    },
    (err: unknown) => err as Error,
  );
  return e.message;
}

describe('parameter errors name the parameter, and nothing is served', () => {
  it.each([
    [[], 'partitioning: no file given: nbdkit-ts partitioning FILE [FILE...]'],
    [['partition-type=gpt'], 'partitioning: no file given'],
    [['file='], 'partitioning: file=: expected a file name'],
    [['DIR/missing'], 'partitioning: file=DIR/missing: ENOENT: no such file or directory'],
    [['DIR'], 'partitioning: file=DIR: not a regular file'],
    [['/dev/null'], 'partitioning: file=/dev/null: not a regular file'],
    [['PART', 'EMPTY'], 'partitioning: file=EMPTY: the file is empty, and a partition cannot be empty'],
    [['partition-type=apm', 'PART'], 'partitioning: partition-type=apm: expected mbr (or dos) or gpt'],
    [['alignment=1536', 'PART'], 'partitioning: alignment=1536: expected a power of two from 512 to 1M'],
    [['alignment=256', 'PART'], 'partitioning: alignment=256: expected a power of two from 512 to 1M'],
    [['alignment=2M', 'PART'], 'partitioning: alignment=2M: expected a power of two from 512 to 1M'],
    [['alignment=big', 'PART'], 'partitioning: alignment=big: expected a size such as 1048576, 64K, 1M or 2G'],
    [['mbr-id=256', 'PART'], 'partitioning: mbr-id=256: expected a whole number from 0 to 255'],
    [['mbr-id=linux', 'PART'], 'partitioning: mbr-id=linux: expected a whole number from 0 to 255'],
    [['type-guid=linux', 'PART'], 'partitioning: type-guid=linux: expected a GUID such as 0FC63DAF-8483-4772-8E79-3D69D8477DE4, or default'],
    [['type-guid=0FC63DAF-8483-4772-8E79-3D69D8477DE', 'PART'], 'partitioning: type-guid=0FC63DAF-8483-4772-8E79-3D69D8477DE: expected a GUID'],
    [['type-guid={0FC63DAF-8483-4772-8E79-3D69D8477DE4', 'PART'], 'partitioning: type-guid={0FC63DAF-8483-4772-8E79-3D69D8477DE4: expected a GUID'],
    [['type-guid=0FC63DAF-8483-4772-8E79-3D69D8477DEG', 'PART'], 'partitioning: type-guid=0FC63DAF-8483-4772-8E79-3D69D8477DEG: expected a GUID'],
    [['PART', 'size=1M'], 'size'],
  ])('%j', async (args, message) => {
    const fill = (s: string) => s.replaceAll('DIR', dir).replaceAll('EMPTY', empty).replaceAll('PART', file);
    expect(await refusal(args.map(fill))).toContain(fill(message));
  });

  it('partition-type=mbr with a disk beyond 2^32 - 1 sectors (a sparse file of 2 TiB)', async () => {
    const big = join(dir, 'big');
    await runOk('truncate', ['-s', '2T', big]);
    try {
      expect(await refusal(['partition-type=mbr', big])).toContain(
        'partitioning: partition-type=mbr: the disk would be 2199024304128 bytes, but an MBR addresses at most 2^32 - 1 sectors of 512 bytes (about 2 TiB): use partition-type=gpt',
      );
      // Without partition-type, GPT is chosen.
      const server = await startServer([PLUGIN, big]);
      try {
        const { stdout } = await runOk('nbdsh', ['-u', server.uri, '-c', 'print(h.get_size()); print(bytes(h.pread(8, 512)))']);
        // The primary table and padding to 1M, the file, the backup table.
        expect(stdout).toBe(`${2 ** 41 + 2 ** 20 + 33 * 512}\nb'EFI PART'\n`);
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(big);
    }
  });

  it('files adding up to more than 2^63 - 1 bytes (sparse files on tmpfs, which allows them)', async () => {
    const shm = mkdtempSync('/dev/shm/nbdkit-ts-test-');
    try {
      const huge = join(shm, 'huge');
      await runOk('truncate', ['-s', '8191P', huge]);
      expect(await refusal([huge, huge])).toMatch(/partitioning: the files make a disk of \d+ bytes, more than an NBD export can be \(2\^63 - 1 bytes\)/);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });
});

describe('the parameters as the manual gives them', () => {
  it('--help lists every parameter', async () => {
    const { stdout } = await runOk(process.execPath, [cliPath(), PLUGIN, '--help']);
    for (const key of ['file=', 'partition-type=', 'alignment=', 'mbr-id=', 'type-guid=']) expect(stdout).toContain(key);
  });

  it('names and values are taken in any case: partition-type=DOS, mbr-id=DEFAULT, type-guid=Default, and a GUID in lower case', async () => {
    const server = await startServer([PLUGIN, 'partition-type=DOS', 'mbr-id=0x82', 'mbr-id=DEFAULT', 'type-guid=Default', 'type-guid=0fc63daf-8483-4772-8e79-3d69d8477de4', file]);
    try {
      const { stdout } = await runOk('nbdsh', ['-u', server.uri, '-c', 'print(h.pread(512, 0)[0x1be + 4])']);
      expect(stdout.trim()).toBe(String(0x83));
    } finally {
      await server.stop();
    }
  });

  it('-D partitioning.regions=1 with -v prints the regions of the disk', async () => {
    const server = await startServer(['-v', '-D', 'partitioning.regions=1', PLUGIN, 'alignment=4K', file, file]);
    try {
      await runOk('nbdinfo', ['--size', server.uri]);
      expect(server.stderr()).toContain(
        [
          'region 0: bytes 0x0-0x1ff: MBR',
          'region 1: bytes 0x200-0xfff: padding',
          `region 2: bytes 0x1000-0x1fff: ${file}`,
          `region 3: bytes 0x2000-0x2fff: ${file}`,
        ]
          .map((l) => `nbdkit-ts: partitioning: debug: ${l}`)
          .join('\n'),
      );
    } finally {
      await server.stop();
    }
  });
});
