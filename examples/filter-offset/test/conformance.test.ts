import { testFilter } from '@nbdkit-ts/testing/conformance';

testFilter({ title: 'offset', filter: new URL('../dist/index.js', import.meta.url), params: ['offset=1M', 'range=8M'] });
