import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testPlugin } from '@nbdkit-ts/testing/conformance';

/** Three parts of uneven sizes, so that requests cross the joins at odd places. */
testPlugin({
  title: 'split',
  plugin: new URL('../dist/index.js', import.meta.url),
  params: ({ dir }) =>
    [1024 * 1024 + 512, 3000 * 1024, 2 * 1024 * 1024 - 512].map((size, i) => {
      const part = join(dir, `part${i}`);
      writeFileSync(part, randomBytes(size));
      return part;
    }),
});
