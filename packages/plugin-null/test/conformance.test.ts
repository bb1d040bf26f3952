import { testPlugin } from '@nbdkit-ts/testing/conformance';

// What is written is discarded: the checks that read back what they wrote do not apply.
testPlugin({
  title: 'null',
  plugin: new URL('../dist/index.js', import.meta.url),
  params: ['64M'],
  skip: ['read-after-write', 'zero', 'extents', 'multi-conn'],
});
