import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOk } from '@nbdkit-ts/testing';
import { crc16Update } from '../src/ext2fs/crc16.js';
import { crc32c, crc32cUpdate } from '../src/ext2fs/crc32c.js';
import { dirEntries, recLen } from '../src/ext2fs/directory.js';
import { insertWritten } from '../src/ext2fs/extent-list.js';
import { ExtentNode, type Extent } from '../src/ext2fs/extent-node.js';
import { incompatNames, roCompatNames } from '../src/ext2fs/features.js';
import { Layout } from '../src/ext2fs/layout.js';
import { Superblock } from '../src/ext2fs/superblock.js';
import { scratchDir } from './fixtures.js';

describe('checksums', () => {
  const check = Buffer.from('123456789');

  it('crc32c: the standard check value, and continuing a crc in pieces', () => {
    expect(crc32c(check)).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const whole = crc32cUpdate(0x12345678, check);
    expect(crc32cUpdate(crc32cUpdate(0x12345678, check.subarray(0, 4)), check.subarray(4))).toBe(whole);
  });

  it('crc16 (ARC): the standard check value', () => {
    expect(crc16Update(0, check)).toBe(0xbb3d);
  });
});

describe('superblock and layout, against dumpe2fs', () => {
  let dir: string;
  beforeAll(() => {
    dir = scratchDir();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['1 KiB blocks, ext2', ['-t', 'ext2', '-b', '1024'], '64M'],
    ['4 KiB blocks, ext4, 64bit, metadata_csum', ['-t', 'ext4', '-O', '64bit,metadata_csum'], '600M'],
    ['meta_bg', ['-t', 'ext4', '-O', 'meta_bg,^resize_inode', '-b', '1024'], '300M'],
  ])('%s', async (_name, options, size) => {
    const image = join(dir, 'sb.img');
    await runOk('mke2fs', ['-q', '-F', ...options, image, size]);
    const header = (await runOk('dumpe2fs', ['-h', image])).stdout;
    const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(header)?.[1] ?? '';
    const bytes = new Uint8Array(1024);
    const fd = openSync(image, 'r');
    readSync(fd, bytes, 0, 1024, 1024);
    const sb = new Superblock(bytes);
    sb.validate();
    expect(sb.blockSize).toBe(Number(field('Block size')));
    expect(sb.blocksCount).toBe(BigInt(field('Block count')));
    expect(sb.freeBlocksCount).toBe(BigInt(field('Free blocks')));
    expect(sb.inodeSize).toBe(Number(field('Inode size')));
    expect(sb.inodesPerGroup).toBe(Number(field('Inodes per group')));
    expect(sb.reservedGdtBlocks).toBe(Number(field('Reserved GDT blocks') || 0));
    expect(field('Filesystem features').split(/\s+/)).toEqual(expect.arrayContaining(incompatNames(sb.featureIncompat).filter((n) => n !== 'needs_recovery')));
    expect(field('Filesystem features').split(/\s+/)).toEqual(expect.arrayContaining(roCompatNames(sb.featureRoCompat)));
    // Where dumpe2fs says each group's superblock copy and descriptors are.
    const layout = new Layout(sb);
    const groups = (await runOk('dumpe2fs', [image])).stdout.split(/^(?=Group \d+:)/m).filter((t) => /^Group \d+:/.test(t));
    expect(groups.length).toBe(layout.groupCount);
    for (const [g, text] of groups.entries()) {
      const sbAt = /superblock at (\d+)/.exec(text);
      const gd = /Group descriptors? at (\d+)(?:-(\d+))?/.exec(text);
      const runs = layout.superAndDescRuns(g);
      const used = runs.reduce((n, [, c]) => n + c, 0);
      const expected = (sbAt ? 1 : 0) + (gd ? Number(gd[2] ?? gd[1]) - Number(gd[1]) + 1 : 0) + (sbAt && !sb.hasIncompat(0x10) ? sb.reservedGdtBlocks : 0);
      expect(layout.hasSuper(g), `group ${g}`).toBe(sbAt !== null);
      expect(used, `group ${g}`).toBe(expected);
      if (gd && runs.length > 0) {
        const first = Number(gd[1]);
        expect(runs.some(([s, c]) => s <= first && first < s + c), `group ${g} descriptors at ${first}`).toBe(true);
      }
    }
    closeSync(fd);
  });
});

describe('extents', () => {
  const e = (lblk: number, len: number, phys: number, unwritten = false): Extent => ({ lblk, len, phys, unwritten });

  it('insertWritten fills a hole and merges with neighbours that continue it', () => {
    const list = [e(0, 10, 100), e(20, 5, 200)];
    insertWritten(list, e(10, 10, 110));
    expect(list).toEqual([e(0, 20, 100), e(20, 5, 200)]);
    insertWritten(list, e(30, 2, 500));
    expect(list).toEqual([e(0, 20, 100), e(20, 5, 200), e(30, 2, 500)]);
  });

  it('insertWritten cuts an unwritten extent around the written part', () => {
    const list = [e(0, 100, 1000, true)];
    insertWritten(list, e(40, 10, 1040));
    expect(list).toEqual([e(0, 40, 1000, true), e(40, 10, 1040), e(50, 50, 1050, true)]);
    insertWritten(list, e(0, 40, 1000));
    expect(list).toEqual([e(0, 50, 1000), e(50, 50, 1050, true)]);
  });

  it('insertWritten never merges past the longest extent, and refuses to overwrite written blocks', () => {
    const list = [e(0, 32768, 0)];
    insertWritten(list, e(32768, 1, 32768));
    expect(list.length).toBe(2);
    expect(() => insertWritten(list, e(5, 1, 9))).toThrow(/already written/);
  });

  it('extent nodes round-trip leaf and index entries, and the unwritten bit', () => {
    const node = ExtentNode.init(new Uint8Array(4096), 7, 0);
    expect(node.max).toBe(340);
    node.store([e(0, 32768, 2 ** 40 + 5), e(40000, 7, 9, true)]);
    expect(node.extents()).toEqual([e(0, 32768, 2 ** 40 + 5), e(40000, 7, 9, true)]);
    node.depth = 1;
    node.store([{ lblk: 3, child: 2 ** 33 + 1 }]);
    expect(node.indexes()).toEqual([{ lblk: 3, child: 2 ** 33 + 1 }]);
    node.check('node');
    expect(() => new ExtentNode(new Uint8Array(60), undefined).check('root')).toThrow(/bad extent header magic/);
  });
});

describe('directories', () => {
  it('rec_len of 64 KiB blocks', () => {
    expect(recLen(12, 4096)).toBe(12);
    expect(recLen(0, 65536)).toBe(65536);
    expect(recLen(65535, 65536)).toBe(65536);
    expect(recLen(0xfffc | 1, 65536)).toBe(0x1fffc);
  });

  it('entries skip deleted ones and stop at a broken rec_len', () => {
    const buf = Buffer.alloc(64);
    buf.writeUInt32LE(12, 0);
    buf.writeUInt16LE(12, 4);
    buf[6] = 1;
    buf.write('a', 8);
    buf.writeUInt32LE(0, 12); // deleted
    buf.writeUInt16LE(16, 16);
    buf.writeUInt32LE(13, 28);
    buf.writeUInt16LE(36, 32);
    buf[34] = 3;
    buf.write('bcd', 36);
    expect([...dirEntries(buf, 1024)].map((d) => [d.ino, Buffer.from(d.name).toString()])).toEqual([
      [12, 'a'],
      [13, 'bcd'],
    ]);
    buf.writeUInt16LE(2, 4);
    expect([...dirEntries(buf, 1024)]).toEqual([]);
  });
});
