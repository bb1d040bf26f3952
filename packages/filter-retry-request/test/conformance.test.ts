import { testFilter } from '@nbdkit-ts/testing/conformance';

const filter = new URL('../dist/index.js', import.meta.url);

testFilter({ title: 'retry-request (the defaults, a short delay)', filter, params: ['retry-request-delay=1ms'] });
testFilter({ title: 'retry-request-retries=0', filter, params: ['retry-request-retries=0'] });
