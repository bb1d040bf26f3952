import { join } from 'node:path';
import { testFilter, type Fixture } from '@nbdkit-ts/testing/conformance';
import { partitionedDisk } from './sfdisk.js';

const filter = new URL('../dist/index.js', import.meta.url);

/** Parameters serving partition `partition` of a fresh 32 MiB disk partitioned by sfdisk with `script`. */
const disk =
  (label: 'dos' | 'gpt', script: string, partition: number) =>
  async ({ dir }: Fixture): Promise<string[]> => {
    const path = join(dir, 'disk.img');
    await partitionedDisk(path, 32 << 20, label, script);
    return [path, `partition=${partition}`];
  };

// Over the file plugin: partitions of 8 MiB and a bit, at odd places.
testFilter({ title: 'partition, MBR primary', filter, plugin: 'file', params: disk('dos', '2048 2047\n4096 16385\n', 2) });
testFilter({ title: 'partition, MBR logical', filter, plugin: 'file', params: disk('dos', '2048 2047\n4096 40000 E\n6000 16385\n30000 1000\n', 5) });
testFilter({ title: 'partition, GPT', filter, plugin: 'file', params: disk('gpt', '2048 2047\n4096 2047\n8192 16385\n', 3) });
