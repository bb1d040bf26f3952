import { testFilter } from '@nbdkit-ts/testing/conformance';

testFilter({ title: 'multi-conn', filter: 'multi-conn' });
// A plugin whose connections keep private write-back caches: emulation must make multi-conn true.
testFilter({
  title: 'multi-conn emulating multi-conn over private caches',
  filter: 'multi-conn',
  plugin: new URL('./writeback-plugin.js', import.meta.url),
  params: ['size=16M', 'multi-conn-mode=emulate'],
});
