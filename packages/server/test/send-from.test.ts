import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NBDSH_EXPECT_ERROR, nbdsh, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { REGIONS } from './layers/send-from-plugin.js';

const PLUGIN = join(import.meta.dirname, 'layers/send-from-plugin.js');
const MiB = 1024 * 1024;
const READ = 256 * 1024;

describe('a layer answering sendFrom each way the contract allows, or not', () => {
  let dir: string;
  let image: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    writeFileSync(image, randomBytes(8 * MiB));
    server = await startServer(['--request-timeout=1', PLUGIN, image]);
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sent, declined (read with pread) or sent with a second send refused: the right bytes; thrown or too late: an error, and the connection goes on', async () => {
    const at = (region: number) => region * MiB + 4096;
    await nbdsh(
      server.uri,
      NBDSH_EXPECT_ERROR +
        `
data = open(${JSON.stringify(image)}, "rb").read()
def check(offset):
    assert h.pread(${READ}, offset) == data[offset:offset + ${READ}], "read at %d" % offset
for _ in range(2):
    check(${at(REGIONS.SEND)})
    check(${at(REGIONS.DECLINE)})
    check(${at(REGIONS.SEND_TWICE)})
    expect_error(errno.EPERM, h.pread, ${READ}, ${at(REGIONS.THROW)})
expect_error(errno.EIO, h.pread, ${READ}, ${at(REGIONS.SEND_LATE)})
import time
time.sleep(2)
check(${at(REGIONS.SEND)})
check(${at(REGIONS.DECLINE)})
assert h.pread(4096, ${at(REGIONS.SEND_LATE)}) == data[${at(REGIONS.SEND_LATE)}:${at(REGIONS.SEND_LATE) + 4096}]
`,
    );
    const log = server.stderr();
    expect(log).toMatch(/second send refused: EINVAL/);
    expect(log).toMatch(/late send refused: ECANCELED/);
    expect(log).toMatch(/connection \d+: sendFrom: no answer within 1 s \(--request-timeout\)/);
  });
});
