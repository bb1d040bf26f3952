import { testFilter } from '@nbdkit-ts/testing/conformance';

const filter = new URL('../dist/index.js', import.meta.url);

// With the default 64K blocks, the errors check's 64K writes cover whole blocks: they never
// reach the disk beneath, so they cannot fail with its error. Blocks of 128K make them part
// of a block, copied up from beneath, and an error there must reach the client.
testFilter({ title: 'cow', filter, skip: ['errors'] });
testFilter({ title: 'cow with blocks of 128K', filter, params: ['cow-block-size=128K'] });
