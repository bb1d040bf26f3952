import { basename } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { testPlugin } from '@nbdkit-ts/testing/conformance';
import { startCeph, type Ceph } from './ceph.js';

let ceph: Ceph;

beforeAll(async () => {
  ceph = await startCeph();
  await ceph.createBucket('conformance');
}, 120_000);

// Undefined when beforeAll failed to start it.
afterAll(() => (ceph as Ceph | undefined)?.stop());

// Each server gets a new disk of its own (named after its fixture folder), 64 MiB in 1 MiB objects.
testPlugin({
  title: 's3',
  plugin: 's3',
  params: ({ dir }) => [
    `endpoint=${ceph.endpoint}`,
    'bucket=conformance',
    `key=${basename(dir)}`,
    'size=64M',
    'object-size=1M',
    `access-key=${ceph.accessKey}`,
    `secret-key=${ceph.secretKey}`,
  ],
});
