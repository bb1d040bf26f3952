import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLifecycle, LEAVE_WAYS, runOk, startServer, tempDir } from '@nbdkit-ts/testing';

// Hundreds of clients leaving in every way, through three stacks: the server
// comes back to the descriptors, contexts and memory it started with.
describe('clients leaving in every way leave nothing behind', () => {
  let dir: string;
  let image: string;
  let fsImage: string;
  let tls: string[];

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    await runOk('truncate', ['-s', '64M', image]);
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'inner.img'), Buffer.alloc(1024 * 1024, 0x5a));
    fsImage = join(dir, 'fs.img');
    await runOk('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', tree, fsImage, '32M']);
    const psk = join(dir, 'keys.psk');
    writeFileSync(psk, `alice:${'ab'.repeat(32)}\n`);
    tls = ['--tls=on', `--tls-psk=${psk}`];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const stacks: [string, () => string[]][] = [
    ['file', () => ['file', image]],
    ['reopen and multi-conn over file', () => ['--filter=reopen', '--filter=multi-conn', 'file', image]],
    ['ext2 over file', () => ['--filter=ext2', 'file', fsImage, 'ext2file=/inner.img']],
  ];

  it.each(stacks)('%s: 100 clients of each way', async (_name, args) => {
    const report = await checkLifecycle([...tls, ...args()], { clients: 100 });
    expect(report.connections).toBe(101 * LEAVE_WAYS.length);
    expect(report.contexts.after).toBe(report.contexts.before);
  });

  it('300 clients saying goodbye through libnbd (NBD_CMD_DISC, then shutdown): every socket is closed', async () => {
    const server = await startServer(['file', image]);
    try {
      const fds = () => readdirSync(`/proc/${server.child.pid as number}/fd`).length;
      const goodbyes = (n: number) =>
        runOk('python3', ['-c', `import nbd\nfor i in range(${n}):\n    h = nbd.NBD()\n    h.connect_unix(${JSON.stringify(server.socket)})\n    h.shutdown()\n    del h`]);
      await goodbyes(1);
      const before = fds();
      await goodbyes(300);
      // The server closes each socket as it sees the client's end: wait for the last ones.
      for (let i = 0; i < 250 && fds() > before + 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(fds()).toBeLessThanOrEqual(before + 2);
    } finally {
      await server.stop();
    }
  });
});
