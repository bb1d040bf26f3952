import { testPlugin } from '@nbdkit-ts/testing/conformance';

testPlugin({ title: 'pattern', plugin: new URL('../dist/index.js', import.meta.url), params: ['64M'] });
