import { testFilter } from '@nbdkit-ts/testing/conformance';

// With retries the injected faults are retried on a fresh context, fail again, and reach the client.
testFilter({ title: 'reopen', filter: 'reopen', params: ['retries=2', 'retry-delay=1ms'] });
