import { testFilter, testPlugin } from '@nbdkit-ts/testing/conformance';
import { MEMORY_PLUGIN } from '@nbdkit-ts/testing';

testPlugin({ title: 'memory', plugin: MEMORY_PLUGIN, params: ['64M'] });
testFilter({ title: 'pass-through', filter: new URL('./pass-through-filter.js', import.meta.url) });
