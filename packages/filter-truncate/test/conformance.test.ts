import { testFilter } from '@nbdkit-ts/testing/conformance';

const filter = new URL('../dist/index.js', import.meta.url);

// Over the testing kit's memory disk (16 MiB unless size= says otherwise).
testFilter({ title: 'truncate smaller', filter, params: ['truncate=10000000'] });
testFilter({ title: 'truncate rounding down', filter, params: ['size=16777000', 'round-down=64K'] });
// Only zeroes can be written past the end beneath: the checks writing data near the end of the export do not apply.
testFilter({ title: 'truncate extending', filter, params: ['truncate=20M'], skip: ['read-after-write', 'zero', 'extents', 'errors'] });
