import { join } from 'node:path';
import { testFilter } from '@nbdkit-ts/testing/conformance';

const filter = new URL('../dist/index.js', import.meta.url);

testFilter({ title: 'log logfile=', filter, params: ({ dir }) => [`logfile=${join(dir, 'log')}`] });
testFilter({ title: 'log, inactive (neither logfile= nor logscript=)', filter });
testFilter({ title: 'log logscript=', filter, params: ({ dir }) => [`logscript=echo "$act" >> ${join(dir, 'acts')}`] });
