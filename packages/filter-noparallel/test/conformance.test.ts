import { testFilter } from '@nbdkit-ts/testing/conformance';

// Over the testing kit's memory disk, which takes any concurrency and advertises multi-conn.
testFilter({ title: 'noparallel serialize=requests (the default)', filter: 'noparallel' });
testFilter({ title: 'noparallel serialize=all-requests', filter: 'noparallel', params: ['serialize=all-requests'] });
// One client at a time: the capabilities check opens a second connection while the first is
// open, which waits for the first to go (forever); multi-conn is not advertised, so its check skips.
testFilter({ title: 'noparallel serialize=connections', filter: 'noparallel', params: ['serialize=connections'], skip: ['capabilities'] });
