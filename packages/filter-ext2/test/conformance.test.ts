import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from '@nbdkit-ts/testing';
import { testFilter, type Fixture } from '@nbdkit-ts/testing/conformance';
import { randomBytes } from './fixtures.js';

/** An ext4 image holding /disk.raw (8 MiB of data, then a 4 MiB hole), served through the file plugin. */
async function params({ dir }: Fixture): Promise<string[]> {
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'disk.raw'), randomBytes(8 * 1024 * 1024, 5));
  writeFileSync(join(tree, 'disk.raw'), Buffer.alloc(4096, 1), { flag: 'r+' });
  await runOk('truncate', ['-s', '12M', join(tree, 'disk.raw')]);
  const image = join(dir, 'fs.img');
  await runOk('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', tree, image, '64M']);
  return [image, 'ext2file=/disk.raw'];
}

testFilter({ title: 'ext2', filter: 'ext2', plugin: 'file', params });
