import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@nbdkit-ts/testing';
import { copyDisk, makeFile, MiB, requireTools } from './disk.js';

// The same files and parameters served by nbdkit's partitioning plugin and by this one give the
// same disk, byte for byte, but for what nbdkit makes at random (GPT GUIDs) and the CRCs over them.
requireTools({ nbdkit: 'nbdkit', nbdcopy: 'libnbd-bin' });

let dir: string;
beforeAll(() => {
  dir = tempDir();
  [1, 511, 512, 1023, 4097, 2 * MiB, 3 * MiB + 1].forEach((size, i) => makeFile(dir, `p${i + 1}`, size));
  for (let i = 1; i <= 150; i++) makeFile(dir, `n${i}`, i * 100);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const P = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];

/** `disk` with the random fields of a GPT (disk and partition GUIDs) and the CRCs over them zeroed; an MBR disk as it is. */
function withoutRandomFields(disk: Buffer): Buffer {
  const out = Buffer.from(disk);
  if (out.subarray(512, 520).toString('latin1') !== 'EFI PART') return out;
  for (const lba of [1n, out.readBigUInt64LE(512 + 32)]) {
    const header = Number(lba) * 512;
    const entries = Number(out.readBigUInt64LE(header + 72)) * 512;
    for (let i = 0; i < out.readUInt32LE(header + 80); i++) out.fill(0, entries + i * 128 + 16, entries + i * 128 + 32);
    out.fill(0, header + 16, header + 20);
    out.fill(0, header + 56, header + 72);
    out.fill(0, header + 88, header + 92);
  }
  return out;
}

describe('the disk is the one nbdkit makes', () => {
  it.each([
    ['one file', ['p5']],
    ['MBR of three files', ['p1', 'p2', 'p6']],
    ['MBR of four files, partition-type=dos', ['partition-type=dos', 'p1', 'p2', 'p3', 'p4']],
    ['MBR with mbr-id= and alignment= changed on the way', ['mbr-id=0x83', 'alignment=512', 'p1', 'mbr-id=0x82', 'alignment=1M', 'p2', 'mbr-id=default', 'p7', 'mbr-id=0x82', 'p4', 'partition-type=mbr']],
    ['MBR of seven files, with logical partitions', ['partition-type=mbr', ...P]],
    ['MBR of seven files, alignment=512', ['partition-type=mbr', 'alignment=512', ...P]],
    ['MBR of seven files, alignment=4K, mbr-id on logical partitions', ['partition-type=mbr', 'alignment=4K', 'p1', 'p2', 'p3', 'mbr-id=0x8e', 'p4', 'p5', 'mbr-id=7', 'p6', 'p7']],
    ['MBR of five files, the fewest with logical partitions', ['partition-type=mbr', 'p1', 'p2', 'p3', 'p4', 'p5']],
    ['GPT of one file', ['partition-type=gpt', 'p7']],
    ['GPT of seven files (chosen for more than four)', P],
    ['GPT with type-guid= changed on the way', ['p1', 'type-guid=A2A0D0EB-E5B9-3344-87C0-68B6B72699C7', 'p2', 'type-guid={AF3DC60F-8384-7247-8E79-3D69D8477DE4}', 'p3', 'type-guid=default', 'p4', 'p5']],
    ['GPT of 150 files (two sectors of entries more), alignment=512', ['alignment=512', ...Array.from({ length: 150 }, (_, i) => `n${i + 1}`)]],
    ['GPT of 150 files, alignment=64K', ['alignment=64K', ...Array.from({ length: 150 }, (_, i) => `n${i + 1}`)]],
  ])('%s', async (_, args) => {
    const ours = await copyDisk('nbdkit-ts', args, join(dir, 'ours.img'), { cwd: dir });
    const theirs = await copyDisk('nbdkit', args, join(dir, 'theirs.img'), { cwd: dir });
    expect(ours.length).toBe(theirs.length);
    expect(withoutRandomFields(ours).equals(withoutRandomFields(theirs))).toBe(true);
  });
});
