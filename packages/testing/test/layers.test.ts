import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NBDSH_EXPECT_ERROR, cliPath, FAULT_FILTER, MEMORY_PLUGIN, nbdsh, run, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';

const EXPECT_ERROR = `
${NBDSH_EXPECT_ERROR}`;

describe('the fault filter', () => {
  let dir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    server = await startServer([
      `--filter=${FAULT_FILTER}`,
      MEMORY_PLUGIN,
      '1M',
      'fault-offset=64K',
      'fault-length=64K',
      'fault-calls=pread,pwrite,flush',
      'fault-error=enospc',
      `fault-file=${join(dir, 'trigger')}`,
    ]);
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails only the calls it is told to, touching its range, while the trigger file exists', async () => {
    await nbdsh(server.uri, `${EXPECT_ERROR}
h.pread(4096, 65536)
h.flush()
open(${JSON.stringify(join(dir, 'trigger'))}, "w").close()
expect_error("ENOSPC", h.pread, 4096, 65536)
expect_error("ENOSPC", h.pread, 8192, 61440)
expect_error("ENOSPC", h.pread, 1, 131071)
expect_error("ENOSPC", h.pwrite, b"x" * 512, 100000)
expect_error("ENOSPC", h.flush)
h.pread(65536, 0)
h.pread(4096, 131072)
h.zero(4096, 65536)
h.trim(4096, 65536)
`);
  });

  it('takes the code from the trigger file when it holds an errno name', async () => {
    writeFileSync(join(dir, 'trigger'), 'eperm\n');
    await nbdsh(server.uri, `${EXPECT_ERROR}\nexpect_error("EPERM", h.pread, 512, 65536)`);
    writeFileSync(join(dir, 'trigger'), 'not a code');
    await nbdsh(server.uri, `${EXPECT_ERROR}\nexpect_error("ENOSPC", h.pread, 512, 65536)`);
  });

  it.each([
    ['fault-error=EBOGUS', 'fault-error=EBOGUS: "EBOGUS" is not an errno name (such as EIO, ENOSPC, EPERM or ESHUTDOWN)'],
    ['fault-calls=pread,read', 'fault-calls=pread,read: "read" is not one of pread, pwrite, flush, trim, zero, extents, cache'],
    ['fault-offset=lots', 'fault-offset=lots: expected a size'],
    ['fault-file=', 'fault-file=: expected a file name'],
  ])('refuses %s, naming the parameter', async (param, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FAULT_FILTER}`, MEMORY_PLUGIN, param, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});

describe('the memory plugin', () => {
  it('is sparse: block status shows the 32 KiB pages written as data, the rest as holes of zeroes', async () => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', MEMORY_PLUGIN, 'size=256K', '--run', `nbdsh -u "$uri" -c 'h.pwrite(b"a", 40000)' && nbdinfo --map "$uri"`]);
    expect(r.stderr).toBe('');
    const map = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).slice(0, 3).join(' '));
    expect(map).toEqual(['0 32768 3', '32768 32768 0', '65536 196608 3']);
  });

  it('refuses a size it cannot hold, naming the parameter', async () => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', MEMORY_PLUGIN, 'size=lots', '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('size=lots: expected a size');
  });
});
