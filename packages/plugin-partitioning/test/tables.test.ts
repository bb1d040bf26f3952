import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOk, startServer, tempDir } from '@nbdkit-ts/testing';
import { makeFile, MiB, PLUGIN, requireTools, sfdisk, type SfdiskPartition } from './disk.js';

// The disk as partitioning tools read it, and each partition read back through the export.
requireTools({ sfdisk: 'fdisk', fdisk: 'fdisk', sgdisk: 'gdisk', parted: 'parted', 'qemu-img': 'qemu-utils', nbdcopy: 'libnbd-bin' });

let dir: string;
beforeAll(() => (dir = tempDir()));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the tools say about one disk, copied out of the export while it was served. */
interface Inspection {
  /** The whole disk, copied with nbdcopy. */
  readonly bytes: Buffer;
  readonly image: string;
  readonly label: string;
  readonly partitions: SfdiskPartition[];
  /** `parted -m` lines of the partitions: number, start, end, size, file system, name, flags. */
  readonly parted: string[][];
  /** `fdisk -l`. */
  readonly fdisk: string;
  /** The size qemu-img gives the export. */
  readonly qemuSize: number;
  /** Each partition of `partitions` (whole sectors), read by qemu-img through the export. */
  readonly qemuPartitions: Buffer[];
}

/** Serves `args` (the server's working directory: the test folder) and inspects the disk with the tools. */
async function inspect(name: string, args: readonly string[]): Promise<Inspection> {
  const server = await startServer([PLUGIN, ...args], { cwd: dir });
  try {
    const image = join(dir, `${name}.img`);
    await runOk('nbdcopy', [server.uri, image]);
    const { label, partitions } = await sfdisk(image);
    const parted = (await runOk('parted', ['-s', '-m', image, 'unit', 'B', 'print'])).stdout.trim().split('\n').slice(2).map((l) => l.replace(/;$/, '').split(':'));
    const fdisk = (await runOk('fdisk', ['-l', image])).stdout;
    const info = JSON.parse((await runOk('qemu-img', ['info', '--output=json', server.uri])).stdout) as { 'virtual-size': number };
    const qemuPartitions: Buffer[] = [];
    for (const [i, p] of partitions.entries()) {
      const out = join(dir, `${name}.part${i + 1}`);
      const spec = { driver: 'raw', offset: p.start * 512, size: p.size * 512, file: { driver: 'nbd', server: { type: 'unix', path: server.socket } } };
      await runOk('qemu-img', ['convert', '-O', 'raw', `json:${JSON.stringify(spec)}`, out]);
      qemuPartitions.push(readFileSync(out));
    }
    return { bytes: readFileSync(image), image, label, partitions, parted, fdisk, qemuSize: info['virtual-size'], qemuPartitions };
  } finally {
    await server.stop();
  }
}

/** `file` padded with zeroes to whole sectors. */
function sectors(file: string): Buffer {
  const data = readFileSync(file);
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** Checks that each partition of `disk` numbered in `numbers` holds the file of `files` at the same place, in the copy and through qemu-img. */
function expectPartitionsHold(disk: Inspection, files: readonly string[], numbers: readonly number[]): void {
  files.forEach((file, i) => {
    const n = numbers[i] ?? 0;
    const p = disk.partitions.find((q) => q.node === `${disk.image}${n}`);
    if (p === undefined) throw new Error(`no partition ${n} for ${file}`);
    const want = sectors(file);
    expect(p.size * 512, `size of partition ${n}`).toBe(want.length);
    expect(disk.bytes.subarray(p.start * 512, p.start * 512 + want.length).equals(want), `partition ${n} in the copy`).toBe(true);
    expect(disk.qemuPartitions[disk.partitions.indexOf(p)]?.equals(want), `partition ${n} through qemu-img`).toBe(true);
    const parted = disk.parted.find((l) => l[0] === String(n));
    expect(parted?.slice(1, 4), `partition ${n} in parted`).toEqual([`${p.start * 512}B`, `${p.start * 512 + want.length - 1}B`, `${want.length}B`]);
  });
}

describe('MBR, three files (1 byte, 1000 bytes, 3 MiB + 5 bytes), mbr-id= and alignment= changed on the way', () => {
  let files: string[];
  let disk: Inspection;
  beforeAll(async () => {
    files = [makeFile(dir, 'm1', 1), makeFile(dir, 'm2', 1000), makeFile(dir, 'm3', 3 * MiB + 5)];
    disk = await inspect('mbr3', [files[0] ?? '', 'mbr-id=0x82', files[1] ?? '', 'mbr-id=default', 'alignment=4K', files[2] ?? '']);
  });

  it('is an MBR disk (chosen for up to four files) whose size qemu-img agrees with', () => {
    expect(disk.label).toBe('dos');
    expect(disk.qemuSize).toBe(disk.bytes.length);
    expect(disk.fdisk).toMatch(/Disklabel type: dos/);
  });

  it('starts each partition at its alignment (1M by default, then 4K), the first one bootable, with the type bytes asked for', () => {
    expect(disk.partitions.map(({ start, size, type, bootable }) => ({ start, size, type, bootable: bootable ?? false }))).toEqual([
      { start: 2048, size: 1, type: '83', bootable: true },
      { start: 4096, size: 2, type: '82', bootable: false },
      { start: 4104, size: 6145, type: '83', bootable: false },
    ]);
  });

  it('holds each file in its partition, padded with zeroes to a whole sector, and ends there', () => {
    expectPartitionsHold(disk, files, [1, 2, 3]);
    expect(disk.bytes.length).toBe((4104 + 6145) * 512);
  });

  it('reads as zeroes between the partitions, and has the boot signature', () => {
    const used = new Set([0, ...disk.partitions.flatMap((p) => Array.from({ length: p.size }, (_, k) => p.start + k))]);
    for (let s = 0; s < disk.bytes.length / 512; s++) {
      if (!used.has(s)) expect(disk.bytes.subarray(s * 512, (s + 1) * 512).every((b) => b === 0), `sector ${s}`).toBe(true);
    }
    expect(disk.bytes.readUInt16BE(510)).toBe(0x55aa);
  });

  it('passes sfdisk --verify', async () => {
    expect((await runOk('sfdisk', ['--verify', disk.image])).stdout).toMatch(/No errors detected/);
  });
});

describe('MBR with seven files: three primary partitions, an extended one, and logical partitions 5 to 8', () => {
  let files: string[];
  let disk: Inspection;
  beforeAll(async () => {
    files = [1, 511, 2 * MiB, 1023, 512, 7, 100_000].map((size, i) => makeFile(dir, `l${i + 1}`, size));
    const [a = '', b = '', c = '', d = '', e = '', f = '', g = ''] = files;
    disk = await inspect('mbr7', ['partition-type=mbr', a, b, c, 'mbr-id=0x8e', d, 'mbr-id=0x07', e, 'mbr-id=default', f, g]);
  });

  it('has the extended partition 4 (type 0x0f) from the end of partition 3 to the end of the disk', () => {
    expect(disk.label).toBe('dos');
    const extended = disk.partitions[3];
    const third = disk.partitions[2];
    expect(extended?.type).toBe('f');
    expect(extended?.start).toBe((third?.start ?? 0) + (third?.size ?? 0));
    expect(((extended?.start ?? 0) + (extended?.size ?? 0)) * 512).toBe(disk.bytes.length);
    expect(disk.parted.find((l) => l[0] === '4')?.[6]).toBe('lba');
    expect(disk.fdisk).toMatch(/mbr7\.img4 .* f W95 Ext'd \(LBA\)/);
  });

  it('holds the files in partitions 1, 2, 3, 5, 6, 7, 8, with the type bytes asked for', () => {
    expectPartitionsHold(disk, files, [1, 2, 3, 5, 6, 7, 8]);
    expect(disk.partitions.map((p) => p.type)).toEqual(['83', '83', '83', 'f', '8e', '7', '83', '83']);
    expect(disk.partitions.filter((p) => p.type !== 'f').every((p) => p.start % 2048 === 0)).toBe(true);
  });

  it('passes sfdisk --verify, and parted lists the four logical partitions', async () => {
    expect((await runOk('sfdisk', ['--verify', disk.image])).stdout).toMatch(/No errors detected/);
    const { stdout } = await runOk('parted', ['-s', disk.image, 'print']);
    expect(stdout.match(/ logical\s/g)).toHaveLength(4);
    expect(stdout.match(/ extended\s/g)).toHaveLength(1);
  });
});

/** The GPT header at `lba` of `bytes`, with its CRCs checked against zlib's. */
function gptHeader(bytes: Buffer, lba: number) {
  const h = bytes.subarray(lba * 512, lba * 512 + bytes.readUInt32LE(lba * 512 + 12));
  const entriesLba = Number(h.readBigUInt64LE(72));
  const entries = bytes.subarray(entriesLba * 512, entriesLba * 512 + h.readUInt32LE(80) * h.readUInt32LE(84));
  const zeroedCrc = Buffer.from(h);
  zeroedCrc.writeUInt32LE(0, 16);
  return {
    signature: h.subarray(0, 8).toString('latin1'),
    headerSize: h.length,
    current: Number(h.readBigUInt64LE(24)),
    backup: Number(h.readBigUInt64LE(32)),
    firstUsable: Number(h.readBigUInt64LE(40)),
    lastUsable: Number(h.readBigUInt64LE(48)),
    diskGuid: h.subarray(56, 72).toString('hex'),
    entriesLba,
    count: h.readUInt32LE(80),
    headerCrcOk: h.readUInt32LE(16) === crc32(zeroedCrc),
    entriesCrcOk: h.readUInt32LE(88) === crc32(entries),
    entries,
  };
}

describe('GPT, three files, type-guid= changed on the way, named as given (relative to the working directory)', () => {
  const SWAP = '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F';
  let files: string[];
  let disk: Inspection;
  beforeAll(async () => {
    files = [makeFile(dir, 'g1', 1), makeFile(dir, 'g2', 10 * MiB), makeFile(dir, 'g3', 4097)];
    disk = await inspect('gpt3', ['partition-type=gpt', 'g1', 'type-guid=default', 'g2', `type-guid={${SWAP.toLowerCase()}}`, 'g3']);
  });

  it('has the partitions aligned to 1M, with their type GUIDs and names, the first one legacy-BIOS bootable', () => {
    expect(disk.label).toBe('gpt');
    expect(disk.partitions.map(({ start, size, type, name, attrs }) => ({ start, size, type, name, attrs }))).toEqual([
      { start: 2048, size: 1, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', name: 'g1', attrs: 'LegacyBIOSBootable' },
      { start: 4096, size: 20480, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', name: 'g2', attrs: undefined },
      { start: 24576, size: 9, type: SWAP, name: 'g3', attrs: undefined },
    ]);
    expect(disk.parted.map((l) => l[5])).toEqual(['g1', 'g2', 'g3']);
  });

  it('gives each partition its own random (version 4) unique GUID', () => {
    const uuids = disk.partitions.map((p) => p.uuid ?? '');
    expect(new Set(uuids).size).toBe(3);
    for (const u of uuids) expect(u).toMatch(/^[\dA-F]{8}-[\dA-F]{4}-4[\dA-F]{3}-[89AB][\dA-F]{3}-[\dA-F]{12}$/);
  });

  it('holds each file in its partition', () => {
    expectPartitionsHold(disk, files.map((f) => join(dir, f.slice(dir.length + 1))), [1, 2, 3]);
  });

  it('has a primary header at LBA 1 and a backup in the last sector, each pointing at the other, with CRCs as zlib computes them', () => {
    const last = disk.bytes.length / 512 - 1;
    const primary = gptHeader(disk.bytes, 1);
    const backup = gptHeader(disk.bytes, last);
    expect(primary).toMatchObject({ signature: 'EFI PART', headerSize: 96, current: 1, backup: last, firstUsable: 34, lastUsable: last - 33, entriesLba: 2, count: 128, headerCrcOk: true, entriesCrcOk: true });
    expect(backup).toMatchObject({ signature: 'EFI PART', headerSize: 96, current: last, backup: 1, firstUsable: 34, lastUsable: last - 33, entriesLba: last - 32, count: 128, headerCrcOk: true, entriesCrcOk: true });
    expect(backup.entries.equals(primary.entries)).toBe(true);
    expect(backup.diskGuid).toBe(primary.diskGuid);
    expect(primary.diskGuid).not.toBe('0'.repeat(32));
  });

  it('has a protective MBR: one partition of type 0xEE from sector 1 to the end', () => {
    expect(disk.bytes[446 + 4]).toBe(0xee);
    expect(disk.bytes.readUInt32LE(446 + 8)).toBe(1);
    expect(disk.bytes.readUInt32LE(446 + 12)).toBe(disk.bytes.length / 512 - 1);
    expect(disk.bytes.readUInt16BE(510)).toBe(0x55aa);
  });

  it('passes sgdisk --verify', async () => {
    expect((await runOk('sgdisk', ['--verify', disk.image])).stdout).toMatch(/No problems found/);
  });
});

describe('GPT with 130 files of one byte, alignment=512', () => {
  let files: string[];
  let disk: Inspection;
  beforeAll(async () => {
    files = Array.from({ length: 130 }, (_, i) => makeFile(dir, `n${i + 1}`, 1));
    disk = await inspect('gpt130', ['alignment=512', ...files]);
  }, 120_000);

  it('is GPT (chosen for more than four files), with 256 entries in 64 sectors, and 130 partitions back to back', async () => {
    expect(disk.label).toBe('gpt');
    expect(gptHeader(disk.bytes, 1)).toMatchObject({ count: 256, firstUsable: 66, entriesCrcOk: true, headerCrcOk: true });
    expect(disk.partitions.map((p) => p.start)).toEqual(Array.from({ length: 130 }, (_, i) => 66 + i));
    expect((await runOk('sgdisk', ['--print', disk.image])).stdout).toMatch(/Partition table holds up to 256 entries/);
    expect((await runOk('sgdisk', ['--verify', disk.image])).stdout).toMatch(/No problems found/);
    expectPartitionsHold(disk, files, Array.from({ length: 130 }, (_, i) => i + 1));
  });
});

describe('the default partition type', () => {
  it.each([
    [4, 'dos'],
    [5, 'gpt'],
  ])('%i files give %s', async (count, label) => {
    const files = Array.from({ length: count }, (_, i) => makeFile(dir, `d${count}-${i}`, 512));
    const disk = await inspect(`default${count}`, files);
    expect(disk.label).toBe(label);
    expect(disk.partitions.filter((p) => p.type !== 'f')).toHaveLength(count);
  });
});
