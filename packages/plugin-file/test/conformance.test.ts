import { join } from 'node:path';
import { testPlugin, type Fixture } from '@nbdkit-ts/testing/conformance';
import { MiB, sparseImage, WITHOUT_KOFFI } from './disk.js';

const plugin = new URL('../dist/index.js', import.meta.url);

/** A sparse 64 MiB image with data at its start and in its middle. */
async function image(dir: string): Promise<string> {
  const path = join(dir, 'disk.img');
  await sparseImage(path, 64 * MiB, [
    [0, MiB],
    [32 * MiB, MiB],
  ]);
  return path;
}

testPlugin({ title: 'file', plugin, params: async ({ dir }: Fixture) => [await image(dir)] });
testPlugin({ title: 'file cache=none fadvise=sequential', plugin, params: async ({ dir }: Fixture) => [await image(dir), 'cache=none', 'fadvise=sequential'] });
testPlugin({ title: 'file without the native calls', plugin, env: WITHOUT_KOFFI, params: async ({ dir }: Fixture) => [await image(dir)] });
