import { testFilter } from '@nbdkit-ts/testing/conformance';

const filter = new URL('../dist/index.js', import.meta.url);

// Over the testing kit's memory disk (16 MiB unless size= says otherwise).
testFilter({ title: 'offset with a range', filter, params: ['offset=1M', 'range=8M'] });
testFilter({ title: 'offset odd, to the end of the disk', filter, params: ['offset=4097'] });
