import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, run, runOk, startServer, tempDir } from '@nbdkit-ts/testing';

const PLUGIN = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('the split plugin', () => {
  const dir = tempDir();
  const parts = ['a', 'b', 'c'].map((n) => join(dir, n));
  const contents = [Buffer.alloc(5000, 'a'), Buffer.alloc(70000, 'b'), Buffer.alloc(3, 'c')];

  beforeEach(() => parts.forEach((p, i) => writeFileSync(p, contents[i] as Buffer)));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the files one after the other, as nbdcopy sees them', async () => {
    const out = join(dir, 'copy.img');
    const r = await runOk(process.execPath, [cliPath(), '-U', '-', PLUGIN, ...parts, '--run', `nbdcopy "$uri" ${out}`]);
    expect(r.stderr).toBe('');
    expect(sha(readFileSync(out))).toBe(sha(Buffer.concat(contents)));
  });

  it('writes across a join land in both files', async () => {
    const server = await startServer([PLUGIN, ...parts]);
    try {
      await nbdsh(server.uri, 'h.pwrite(b"X" * 10, 4995); h.pwrite(b"YZ", 74999); h.flush()');
    } finally {
      await server.stop();
    }
    expect(readFileSync(parts[0] as string).subarray(4995).toString()).toBe('XXXXX');
    expect(readFileSync(parts[1] as string).subarray(0, 6).toString()).toBe('XXXXXb');
    expect(readFileSync(parts[1] as string).subarray(69999).toString()).toBe('Y');
    expect(readFileSync(parts[2] as string).toString()).toBe('Zcc');
  });

  it('fails a read with EIO, naming the file, when a file shrank under a connection', async () => {
    const server = await startServer(['-v', PLUGIN, ...parts]);
    try {
      await nbdsh(server.uri, `
h.pread(100, 5000)
open(${JSON.stringify(parts[1])}, "r+").truncate(100)
try:
    h.pread(100, 6000)
    raise AssertionError("the read succeeded")
except nbd.Error as e:
    assert e.errno == "EIO", e.errno
h.pread(100, 0)
`);
      expect(server.stderr()).toContain(`EIO: ${parts[1]}: nothing to read at byte 1000: the file is shorter than the 70000 bytes it had when the connection began`);
    } finally {
      await server.stop();
    }
  });

  // Root writes any file whatever its mode: an immutable file refuses root too.
  it.skipIf(process.getuid?.() !== 0)('serves a file it cannot write with -r, and says to use -r without it', async () => {
    await runOk('chattr', ['+i', parts[2] as string]);
    try {
      const ro = await run(process.execPath, [cliPath(), '-r', '-U', '-', PLUGIN, ...parts, '--run', 'nbdinfo --size "$uri"']);
      expect(ro.stdout.trim()).toBe('75003');
      const rw = await run(process.execPath, [cliPath(), '-v', '-U', '-', PLUGIN, ...parts, '--run', 'nbdinfo --size "$uri"']);
      expect(rw.status).not.toBe(0);
      expect(rw.stderr).toContain(`${parts[2]}: cannot open for writing (serve it with -r?): EPERM`);
    } finally {
      await runOk('chattr', ['-i', parts[2] as string]);
    }
  });

  it.each([
    [['file='], 'file=: expected a file name'],
    [['/nonexistent/part'], 'file=/nonexistent/part: ENOENT'],
    [['/tmp'], 'file=/tmp: not a regular file'],
    [[], 'no file given: nbdkit-ts split FILE [FILE...]'],
  ])('refuses %j, naming the parameter', async (params, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', PLUGIN, ...params, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
