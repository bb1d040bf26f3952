import { testPlugin } from '@nbdkit-ts/testing/conformance';

const plugin = new URL('../dist/index.js', import.meta.url);

testPlugin({ title: 'memory', plugin, params: ['64M'] });
testPlugin({ title: 'memory allocator=malloc', plugin, params: ['size=5M', 'allocator=malloc'] });
testPlugin({ title: 'memory 2^63-1', plugin, params: ['9223372036854775807'] });
