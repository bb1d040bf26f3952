import { testFilter } from '@nbdkit-ts/testing/conformance';

testFilter({ title: 'readahead', filter: 'readahead' });
