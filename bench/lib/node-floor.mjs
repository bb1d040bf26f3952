// What any Node.js captive server costs before it serves: node's own start-up, an ES module,
// node:net listening on a Unix socket in a private folder, and the --run command under
// /bin/sh once it listens. No NBD: the floor under nbdkit-ts's "listen" figures.
// usage: node bench/lib/node-floor.mjs -U - --run CMD
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const command = process.argv[process.argv.indexOf('--run') + 1];
const dir = mkdtempSync(join(tmpdir(), 'node-floor-'));
const socket = join(dir, 'socket');
const server = createServer((s) => s.destroy());
server.listen(socket, () => {
  const child = spawn('/bin/sh', ['-c', command], { stdio: 'inherit', env: { ...process.env, uri: `nbd+unix:///?socket=${socket}` } });
  child.on('exit', (code) => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
    process.exitCode = code ?? 1;
  });
});
