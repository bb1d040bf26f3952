import { testFilter } from '@nbdkit-ts/testing/conformance';

// Over the testing kit's memory disk, which zeroes natively and fast.
testFilter({ title: 'nozero zeromode=none (the default)', filter: 'nozero' });
testFilter({ title: 'nozero zeromode=emulate', filter: 'nozero', params: ['zeromode=emulate'] });
testFilter({ title: 'nozero zeromode=notrim fastzeromode=slow', filter: 'nozero', params: ['zeromode=notrim', 'fastzeromode=slow'] });
testFilter({ title: 'nozero zeromode=plugin fastzeromode=ignore', filter: 'nozero', params: ['zeromode=plugin', 'fastzeromode=ignore'] });
