// Conformance suites on layers that each break one rule; run by
// ../conformance-kit.test.ts, which checks that exactly the broken rule fails.
import { testFilter, testPlugin, type Check } from '@nbdkit-ts/testing/conformance';

const ALL: readonly Check[] = ['read-after-write', 'zero', 'extents', 'capabilities', 'multi-conn', 'read-only', 'errors'];
const only = (check: Check) => ALL.filter((c) => c !== check);
const layer = (file: string) => new URL(`./${file}`, import.meta.url);

testFilter({ title: 'lossy', filter: layer('lossy-filter.js'), skip: only('read-after-write') });
testFilter({ title: 'spill', filter: layer('spill-filter.js'), skip: only('zero') });
testFilter({ title: 'all-holes', filter: layer('all-holes-filter.js'), skip: only('extents') });
testFilter({ title: 'fickle', filter: layer('fickle-filter.js'), skip: only('capabilities') });
testFilter({ title: 'scribble', filter: layer('scribble-filter.js'), skip: only('read-only') });
testFilter({ title: 'swallow', filter: layer('swallow-filter.js'), skip: only('errors') });
testPlugin({ title: 'private', plugin: layer('private-plugin.js'), skip: only('multi-conn') });
