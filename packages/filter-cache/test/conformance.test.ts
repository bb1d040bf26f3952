import { testFilter } from '@nbdkit-ts/testing/conformance';

testFilter({ title: 'cache (writeback)', filter: 'cache', params: ['cache-min-block-size=64K'] });
testFilter({ title: 'cache=writethrough, cache-on-read', filter: 'cache', params: ['cache=writethrough', 'cache-on-read=true'] });
// cache=unsafe ignores flushes on purpose, so a write and flush succeed while the layer beneath fails.
testFilter({
  title: 'cache=unsafe with a size limit',
  filter: 'cache',
  params: ['cache=unsafe', 'cache-min-block-size=4K', 'cache-max-size=256K'],
  skip: ['errors'],
});
