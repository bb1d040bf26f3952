import { testFilter } from '@nbdkit-ts/testing/conformance';

const filter = new URL('../dist/index.js', import.meta.url);

testFilter({ title: 'exportname default-export= exportdesc=fixed:', filter, params: ['default-export=disk', 'exportdesc=fixed:a disk in memory'] });
testFilter({
  title: 'exportname exportname-strict=true, export "a"',
  filter,
  exportName: 'a',
  params: ['exportname-strict=true', 'exportname=a', 'exportname-list=explicit', 'exportdesc=script:echo "the disk $name"'],
});
