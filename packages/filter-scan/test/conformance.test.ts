import { testFilter } from '@nbdkit-ts/testing/conformance';

testFilter({ title: 'scan', filter: new URL('../dist/index.js', import.meta.url), params: ['scan-size=512K'] });
