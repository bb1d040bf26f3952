import { testFilter } from '@nbdkit-ts/testing/conformance';

testFilter({ title: 'delay', filter: 'delay', params: ['rdelay=1ms', 'wdelay=1ms', 'delay-extents=1ms', 'delay-cache=1ms', 'delay-open=1ms', 'delay-close=1ms'] });
testFilter({ title: 'delay refusing fast zero', filter: 'delay', params: ['delay-zero=500us', 'delay-fast-zero=false'] });
