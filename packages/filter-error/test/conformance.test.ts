import { testFilter } from '@nbdkit-ts/testing/conformance';

// No rate given: the filter injects nothing and must keep every rule of the layers beneath.
testFilter({ title: 'error', filter: 'error' });
// Faults only while a file that never appears exists: every call is checked, none fails.
testFilter({ title: 'error armed by a missing trigger file', filter: 'error', params: ['error-rate=1', 'error-file=/nonexistent/trigger'] });
