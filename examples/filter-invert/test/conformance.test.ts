import { testFilter } from '@nbdkit-ts/testing/conformance';

testFilter({ title: 'invert', filter: new URL('../dist/index.js', import.meta.url) });
