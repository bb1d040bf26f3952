import { testFilter } from '@nbdkit-ts/testing/conformance';

const filter = new URL('../dist/index.js', import.meta.url);

testFilter({ title: 'swab (16-bit words)', filter });
testFilter({ title: 'swab swab-bits=32', filter, params: ['swab-bits=32'] });
testFilter({ title: 'swab swab-bits=64', filter, params: ['swab-bits=64'] });
testFilter({ title: 'swab swab-bits=8', filter, params: ['swab-bits=8'] });
