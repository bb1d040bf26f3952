#!/usr/bin/env node
// `npm start`: serves a sparse 1 GiB demo disk on nbd://localhost:10809 with
// the embedding API, until Ctrl-C.
import { mkdtempSync, openSync, closeSync, ftruncateSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from '@nbdkit-ts/server';

const dir = mkdtempSync(join(tmpdir(), 'nbdkit-ts-demo-'));
const image = join(dir, 'demo.img');
const fd = openSync(image, 'w');
ftruncateSync(fd, 1024 ** 3);
writeSync(fd, Buffer.from('Hello from nbdkit-ts: a sparse 1 GiB demo disk.\n'), 0, undefined, 0);
closeSync(fd);

const port = Number(process.env.PORT ?? 10809);
const server = await createServer({ plugin: 'file', params: [image] });
const { uri } = await server.listen({ port });
console.log(`Serving ${image} (sparse, 1 GiB) on ${uri}`);
console.log('Try:');
console.log(`  nbdinfo ${uri}`);
console.log(`  nbdsh -u ${uri} -c 'print(h.pread(48, 0).decode())'`);
console.log(`  qemu-img info ${uri}`);
console.log('Ctrl-C to stop.');

const stop = async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
