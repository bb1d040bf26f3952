import { testFilter } from '@nbdkit-ts/testing/conformance';

testFilter({ title: 'cacheextents', filter: new URL('../dist/index.js', import.meta.url) });
