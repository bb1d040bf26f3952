import { closeSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, run, runOk, startServer, tempDir, type RunResult } from '@nbdkit-ts/testing';
import { listPartitions, partitionedDisk } from './sfdisk.js';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const MiB = 1 << 20;

let dir: string;
let disk: string;

beforeAll(() => {
  dir = tempDir();
  disk = join(dir, 'disk.img');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `nbdkit-ts -U - [-r] --filter=partition ARGS --run COMMAND`. */
const serve = (args: readonly string[], command = 'nbdinfo --size "$uri"'): Promise<RunResult> =>
  run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, ...args, '--run', command]);

/** Writes `bytes` into the disk file at `offset`. */
function patch(offset: number, bytes: Buffer): void {
  const fd = openSync(disk, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

const le32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** Partition tables as sfdisk takes them, `START SIZE TYPE` in sectors, and the partitions to serve. */
const LAYOUTS: [string, 'dos' | 'gpt', string][] = [
  ['MBR, four primary partitions', 'dos', '2048 1023 L\n4096 4095 L\n8192 8191 L\n16384 16383 L\n'],
  ['MBR, three primary, the extended fourth, two logical', 'dos', '2048 2047 L\n4096 4095 L\n8192 8191 L\n16384 16383 E\n17000 999 L\n18000 999 L\n'],
  ['MBR, the extended first, three primary, two logical', 'dos', '16384 16383 E\n2048 2047 L\n4096 4095 L\n8192 8191 L\n17000 999 L\n18000 999 L\n'],
  ['MBR, only partition 2', 'dos', 'disk2: start=1024 size=1023 type=83\n'],
  ['GPT, six partitions', 'gpt', '2048 2047 L\n4096 4095 L\n8192 8191 L\n16384 16383 L\n32768 32767 L\n65536 65535 L\n'],
];

describe('serves each partition sfdisk made, where sfdisk says it is', () => {
  it.each(LAYOUTS)('%s', async (_, label, script) => {
    const listed = await partitionedDisk(disk, 128 * MiB, label, script);
    const partitions = listed.filter((p) => !['5', 'f', '85'].includes(p.type));
    expect(partitions.length).toBeGreaterThan(0);
    for (const p of partitions) {
      const server = await startServer([`--filter=${FILTER}`, 'file', disk, `partition=${p.number}`]);
      try {
        await nbdsh(
          server.uri,
          `assert h.get_size() == ${p.size}, h.get_size()
h.pwrite(b"first of ${p.number}", 0)
h.pwrite(b"last of ${p.number}", ${p.size} - len(b"last of ${p.number}"))
h.flush()
`,
        );
      } finally {
        await server.stop();
      }
      const after = readFileSync(disk);
      const last = Buffer.from(`last of ${p.number}`);
      expect(after.subarray(p.offset, p.offset + 10).toString()).toBe(`first of ${p.number}`.slice(0, 10));
      expect(after.subarray(p.offset + p.size - last.length, p.offset + p.size).equals(last)).toBe(true);
    }
    // Nothing was written over the partition table.
    expect(await listPartitions(disk)).toEqual(listed);
  });

  it('serves under -r, reading the table through a read-only context', async () => {
    const [p] = await partitionedDisk(disk, 8 * MiB, 'gpt', '2048 4096 L\n');
    const r = await serve(['-r', 'file', disk, 'partition=1'], 'nbdsh -u "$uri" -c "print(h.get_size(), h.is_read_only())"');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`${p?.size} True`);
  });

  it('reads the table again for each connection', async () => {
    await partitionedDisk(disk, 8 * MiB, 'dos', '2048 2048 L\n');
    const server = await startServer([`--filter=${FILTER}`, 'file', disk, 'partition=2']);
    try {
      expect((await run('nbdinfo', ['--size', server.uri])).status).not.toBe(0);
      await runOk('sfdisk', ['-q', '--append', disk], { input: '8192 4096 L\n' });
      expect((await runOk('nbdinfo', ['--size', server.uri])).stdout.trim()).toBe(String(4096 * 512));
    } finally {
      await server.stop();
    }
  });
});

describe('what the export says of itself', () => {
  /** An eval plugin serving the disk file read-only, with `extra` snippets. */
  const evalDisk = (...extra: string[]) => ['eval', `get_size=echo ${8 * MiB}`, `pread=dd if=${disk} skip=$4 count=$3 iflag=skip_bytes,count_bytes status=none`, ...extra];

  it('describes the partition when the disk beneath has a description, as nbdkit does', async () => {
    await partitionedDisk(disk, 8 * MiB, 'dos', '2048 2048 L\n4096 2048 E\n5000 1000 L\n');
    const args = [...evalDisk('export_description=echo a test disk'), 'partition=5'];
    const ours = await serve(args, 'nbdinfo --json "$uri"');
    const theirs = await runOk('nbdkit', ['-U', '-', '--filter=partition', ...args, '--run', 'nbdinfo --json "$uri"']);
    const description = (r: RunResult) => (JSON.parse(r.stdout) as { exports: { description?: string }[] }).exports[0]?.description;
    expect(description(ours)).toBe('partition 5 of MBR disk: a test disk');
    expect(description(ours)).toBe(description(theirs));
  });

  it('has no description when the disk beneath has none', async () => {
    await partitionedDisk(disk, 8 * MiB, 'gpt', '2048 2048 L\n');
    const r = await serve([...evalDisk(), 'partition=1'], 'nbdinfo --json "$uri"');
    expect((JSON.parse(r.stdout) as { exports: { description?: string }[] }).exports[0]).not.toHaveProperty('description');
  });

  it('reports block status of the partition only, as nbdkit does', async () => {
    // An MBR with partition 1 from sector 64 for 2048 sectors, holding a byte at 0 and at 64K, on a sparse disk of 4 MiB.
    const data = ['data', 'size=4M', '@0x1be 0 0 0 0 0x83 0 0 0 le32:64 le32:2048 @0x1fe 0x55 0xaa @0x8000 1 @0x18000 1 @0x108000 1'];
    const map = async (cmd: string[]) => {
      const [exe, ...rest] = cmd;
      const { stdout } = await runOk(exe ?? '', [...rest, '-U', '-', ...data, 'partition=1', '--run', 'nbdinfo --map --json "$uri"']);
      return (JSON.parse(stdout) as { offset: number; length: number; type: number }[]).map(({ offset, length, type }) => ({ offset, length, type }));
    };
    const ours = await map([process.execPath, cliPath(), `--filter=${FILTER}`]);
    expect(ours).toEqual(await map(['nbdkit', '--filter=partition']));
    expect(ours).toEqual([
      { offset: 0, length: 32768, type: 0 },
      { offset: 32768, length: 32768, type: 3 },
      { offset: 65536, length: 32768, type: 0 },
      { offset: 98304, length: 1048576 - 98304, type: 3 },
    ]);
  });
});

describe('no such partition, no partition table, a broken one: the export is refused', () => {
  /** Expects serving partition `partition` of the disk file to fail with `message`. */
  async function refused(partition: number, message: string): Promise<void> {
    const r = await serve(['file', disk, `partition=${partition}`]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
  }

  it.each([
    ['dos', '2048 2048 L\n4096 2048 L\n', 3, 'partition: MBR partition 3 not found'],
    ['dos', '2048 2048 L\n4096 8192 E\n5000 1000 L\n', 2, 'partition: MBR partition 2 not found'],
    ['dos', '2048 2048 L\n4096 2048 L\n8192 2048 L\n16384 8192 E\n17000 999 L\n18000 999 L\n', 4, 'partition: MBR partition 4 not found'],
    ['dos', '2048 2048 L\n4096 8192 E\n5000 1000 L\n7000 1000 L\n', 7, 'partition: MBR partition 7 not found'],
    ['dos', '2048 2048 L\n4096 2048 L\n', 5, 'partition: partition=5 is a logical partition, but there is no extended partition in the MBR'],
    ['gpt', '2048 2048 L\n4096 2048 L\n', 3, 'partition: GPT partition 3 not found'],
    ['gpt', '2048 2048 L\n', 129, 'partition: GPT partition 129 not found: the partition array has 128 entries'],
  ] as const)('%s table %j, partition=%i', async (label, script, partition, message) => {
    await partitionedDisk(disk, 16 * MiB, label, script);
    await refused(partition, message);
  });

  it('a disk without a partition table', async () => {
    await partitionedDisk(disk, 8 * MiB, 'dos', '2048 2048 L\n');
    patch(0x1fe, Buffer.from([0, 0]));
    await refused(1, 'partition: the disk has no partition table: no GPT signature in LBA 1, no MBR boot signature (55 AA) in LBA 0');
  });

  it('a disk too small for a partition table', async () => {
    await partitionedDisk(disk, 8 * MiB, 'dos', '2048 2048 L\n');
    truncateSync(disk, 1023);
    await refused(1, 'partition: the disk (1023 bytes) is too small to have a partition table');
  });

  it.each([
    ['dos', 'MBR partition 1 (8388608 bytes at byte 1048576) is outside the disk (4194304 bytes)'],
    ['gpt', 'GPT partition 1 (8388608 bytes at byte 1048576) is outside the disk (4194304 bytes)'],
  ] as const)('a %s partition past the end of the disk', async (label, message) => {
    await partitionedDisk(disk, 16 * MiB, label, '2048 16384 L\n');
    truncateSync(disk, 4 * MiB);
    await refused(1, `partition: ${message}`);
  });

  describe('a broken chain of extended boot records', () => {
    // The extended partition starts at sector 4096, with logical partitions at 5000 and 7000.
    const script = '2048 2048 L\n4096 8192 E\n5000 1000 L\n7000 1000 L\n';
    const firstEbr = 4096 * 512;

    it('a link pointing back', async () => {
      await partitionedDisk(disk, 8 * MiB, 'dos', script);
      patch(firstEbr + 0x1ce + 8, le32(0));
      await refused(6, `partition: invalid EBR chain: the extended boot record at byte ${firstEbr} links back to byte ${firstEbr}`);
    });

    it('a link pointing past the end of the disk', async () => {
      await partitionedDisk(disk, 8 * MiB, 'dos', script);
      patch(firstEbr + 0x1ce + 8, le32(20000));
      await refused(6, `partition: invalid EBR chain: an extended boot record at byte ${(4096 + 20000) * 512} is outside the disk (8388608 bytes)`);
    });

    it('a logical partition running out of its extended partition', async () => {
      await partitionedDisk(disk, 8 * MiB, 'dos', script);
      patch(firstEbr + 0x1be + 12, le32(9000));
      await refused(5, 'partition: logical partition 5 (4608000 bytes at byte 2560000) must start after its extended boot record (byte 2097152) and end within the extended partition (byte 6291456)');
    });
  });

  describe('a broken GPT header or entry', () => {
    it('partition entries smaller than 128 bytes', async () => {
      await partitionedDisk(disk, 8 * MiB, 'gpt', '2048 2048 L\n');
      patch(512 + 84, le32(64));
      await refused(1, 'partition: the GPT header says partition entries have 64 bytes; they have at least 128');
    });

    it('a partition array beyond the end of the disk', async () => {
      await partitionedDisk(disk, 8 * MiB, 'gpt', '2048 2048 L\n');
      patch(512 + 80, le32(0x100000));
      await refused(1, 'partition: the GPT partition array (bytes 1024 to 134218752) is not within the disk (8388608 bytes)');
    });

    it('a partition ending before it starts', async () => {
      await partitionedDisk(disk, 8 * MiB, 'gpt', '2048 2048 L\n');
      patch(1024 + 40, Buffer.from([10, 0, 0, 0, 0, 0, 0, 0]));
      await refused(1, 'partition: GPT partition 1 ends (LBA 10) before it starts (LBA 2048)');
    });
  });
});

describe('parameters', () => {
  it.each([
    ['partition=0', 'partition=0: expected a whole number from 1 to 4294967295'],
    ['partition=-1', 'partition=-1: expected a whole number from 1 to 4294967295'],
    ['partition=one', 'partition=one: expected a whole number from 1 to 4294967295'],
    ['partition=4294967296', 'partition=4294967296: expected a whole number from 1 to 4294967295'],
  ])('%s is refused and nothing is served', async (param, message) => {
    const r = await serve(['null', '1M', param], 'true');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`partition: ${message}`);
  });

  it('partition= is required', async () => {
    const r = await serve(['null', '1M'], 'true');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('partition: partition= is required');
  });

  it('--help lists partition=', async () => {
    const { stdout } = await runOk(process.execPath, [cliPath(), `--filter=${FILTER}`, 'null', '--help']);
    expect(stdout).toMatch(/partition=/);
  });
});
