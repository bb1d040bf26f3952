import { testFilter } from '@nbdkit-ts/testing/conformance';

// Over the testing kit's memory disk, which has a native cache.
testFilter({ title: 'nocache cachemode=none (the default)', filter: 'nocache' });
testFilter({ title: 'nocache cachemode=emulate', filter: 'nocache', params: ['cachemode=emulate'] });
testFilter({ title: 'nocache cachemode=nop', filter: 'nocache', params: ['cachemode=nop'] });
