import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NBDSH_EXPECT_ERROR, nbdsh, run, runOk, startServer, type ServerProcess } from '@nbdkit-ts/testing';
import { FAULTS } from './layers/fault-plugin.js';
import { openExport } from './storm-client.js';
import { NBD_CMD_READ } from '../src/protocol/constants.js';

const FAULT = join(import.meta.dirname, 'layers/fault-plugin.js');
const FAULT_FILTER = join(import.meta.dirname, 'layers/fault-filter.js');
const BLOCK = 4096;

const PRELUDE = `
${NBDSH_EXPECT_ERROR}h.set_strict_mode(0)
def extents(count, offset):
    h.block_status(count, offset, lambda *args: 0)
`;

describe('layers that fail', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer(['--request-timeout=1', `--filter=${FAULT_FILTER}`, FAULT]);
  });
  afterAll(async () => {
    await server.stop();
  });

  it('each fault gets an error reply and a log line naming the layer; the connection goes on', async () => {
    const at = (block: number) => block * BLOCK;
    await nbdsh(
      server.uri,
      PRELUDE +
        `
expect_error(errno.EIO, h.pread, 512, ${at(FAULTS.THROW)})
expect_error(errno.EIO, h.pread, 512, ${at(FAULTS.REJECT_STRING)})
expect_error(errno.EIO, h.pread, 512, ${at(FAULTS.REJECT_UNDEFINED)})
expect_error(errno.EIO, h.pread, 512, ${at(FAULTS.HANG)})
expect_error(errno.ENOSPC, h.pwrite, b"x" * 512, ${at(FAULTS.ENOSPC)})
expect_error(errno.EINVAL, extents, 512, ${at(FAULTS.EXTENT_GAP)})
expect_error(errno.EINVAL, extents, 512, ${at(FAULTS.NO_EXTENTS)})
expect_error(errno.EIO, h.pread, 512, 0)
assert h.pread(512, ${at(FAULTS.FLOATING_REJECTION)}) == bytearray(512)
h.pwrite(b"still here", ${at(20)})
assert h.pread(10, ${at(20)}) == b"still here"
`,
      { baseAllocation: true },
    );
    const log = server.stderr();
    expect(log).toMatch(/nbdkit-ts: fault\[1\]: error: pread: TypeError: x is not a function/);
    expect(log).toMatch(/nbdkit-ts: fault\[1\]: error: pread: threw "a string, not an Error"/);
    expect(log).toMatch(/nbdkit-ts: fault\[1\]: error: pread: threw undefined/);
    expect(log).toMatch(/nbdkit-ts: faultfilter\[1\]: error: pread: RangeError: filter arithmetic went wrong/);
    expect(log).toMatch(/nbdkit-ts: error: connection 1: pread: no answer within 1 s \(--request-timeout\)/);
    expect(log).toMatch(/nbdkit-ts: error: unhandled rejection: nobody waits for me/);
    // A coded error is the layer's answer, not a fault.
    expect(log).not.toMatch(/the disk is full/);
  });

  it('a failed open is answered, logged with the layer, and the server goes on', async () => {
    const cases: [string, RegExp][] = [
      ['open-throws', /fault\[\d+\]: error: open: cannot open today/],
      ['open-null', /fault\[\d+\]: error: open: TypeError: returned null, not a handle/],
      ['bad-caps', /open of export "bad-caps" failed: fault: capabilities: size is big/],
      ['open-hangs', /open of export "open-hangs" failed: open: no answer within 1 s/],
    ];
    for (const [name, message] of cases) {
      const r = await run('nbdinfo', [server.uriFor(name)]);
      expect(r.status, name).not.toBe(0);
      expect(server.stderr(), name).toMatch(message);
    }
    await runOk('nbdinfo', [server.uriFor('close-throws')]);
    await expect.poll(() => server.stderr()).toMatch(/fault\[\d+\]: error: close: TypeError: close went wrong/);
    await nbdsh(server.uri, 'assert h.pread(4, 0x20000) == bytearray(4)');
  });
});

describe('SIGTERM', () => {
  it('stops within --shutdown-timeout when a request never completes and a client does not read', async () => {
    const server = await startServer(['--shutdown-timeout=1', '-v', FAULT]);
    const hung = await openExport(server.socket);
    hung.sendRequest(NBD_CMD_READ, 1n, BigInt(FAULTS.HANG * BLOCK), 512);
    hung.sendRequest(NBD_CMD_READ, 2n, 0n, 512);
    expect(await hung.readSimpleReply()).toEqual({ error: 0, cookie: 2n });
    const deaf = await openExport(server.socket);
    deaf.socket.pause();
    for (let i = 0; i < 64; i++) deaf.sendRequest(NBD_CMD_READ, BigInt(i), 0n, 1024 * 1024);
    // A 1 MiB reply is more than the socket holds: the server waits on the deaf client.
    await expect.poll(() => server.stderr()).toMatch(/whole-disk read 1\b/);
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(server.stderr()).toMatch(/shutdown: not done within 1 s \(--shutdown-timeout\); dropping 1 connection/);
    hung.close();
    deaf.close();
  });
});
