import { testFilter } from '@nbdkit-ts/testing/conformance';

const filter = new URL('../dist/index.js', import.meta.url);

// Over the testing kit's memory disk (16 MiB), which has no block size constraints of its own.
testFilter({ title: 'blocksize with its defaults', filter });
testFilter({ title: 'blocksize minblock=4K maxdata=64K maxlen=128K', filter, params: ['minblock=4K', 'maxdata=64K', 'maxlen=128K'] });
testFilter({ title: 'blocksize minblock=512 maxdata=1536 maxlen=2560', filter, params: ['minblock=512', 'maxdata=1536', 'maxlen=2560'] });
