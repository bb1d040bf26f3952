import { testPlugin } from '@nbdkit-ts/testing/conformance';

const plugin = new URL('../dist/index.js', import.meta.url);

testPlugin({ title: 'data', plugin, params: ['( 0x55 0xAA )*2048 @0x2000000 "middle" @^0x100000', 'size=64M'] });
testPlugin({ title: 'data allocator=malloc', plugin, params: ['base64=aGVsbG8=', 'size=4M', 'allocator=malloc'] });
