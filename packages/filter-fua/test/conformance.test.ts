import { testFilter } from '@nbdkit-ts/testing/conformance';

const filter = new URL('../dist/index.js', import.meta.url);

// Over the testing kit's memory disk, which has flush and native FUA.
testFilter({ title: 'fua fuamode=none (the default)', filter });
for (const mode of ['emulate', 'native', 'force', 'pass', 'discard']) {
  testFilter({ title: `fua fuamode=${mode}`, filter, params: [`fuamode=${mode}`] });
}
