import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOk } from '@nbdkit-ts/testing';
import { testPlugin } from '@nbdkit-ts/testing/conformance';

const SCRIPT = fileURLToPath(new URL('./file-disk.sh', import.meta.url));

// A script serving an image with dd: the calling convention end to end, one process per request.
testPlugin({
  title: 'sh (a dd script)',
  plugin: new URL('../dist/index.js', import.meta.url),
  params: async ({ dir }) => {
    const disk = join(dir, 'disk.img');
    await runOk('truncate', ['-s', '1M', disk]);
    return [SCRIPT, `file=${disk}`];
  },
});
