import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testPlugin, type Fixture } from '@nbdkit-ts/testing/conformance';
import { content, MiB } from './disk.js';

const plugin = new URL('../dist/index.js', import.meta.url);

/** Three files of odd sizes. */
function files({ dir }: Fixture): string[] {
  return [1000, 3 * MiB + 1, 100_000].map((size, i) => {
    const path = join(dir, `part${i + 1}`);
    writeFileSync(path, content(size, i));
    return path;
  });
}

// Read-only, every check applies.
testPlugin({ title: 'partitioning -r, MBR', plugin, serverArgs: ['-r'], params: files });
testPlugin({ title: 'partitioning -r, GPT', plugin, serverArgs: ['-r'], params: (f) => ['partition-type=gpt', ...files(f)] });
// Writable: these checks write data at the start of the disk, which holds the partition table
// (such writes fail with EIO by design); writes are checked in writes.test.ts.
testPlugin({ title: 'partitioning, MBR', plugin, params: files, skip: ['read-after-write', 'zero', 'extents', 'multi-conn'] });
