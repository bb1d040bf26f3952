import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nbdsh, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { until } from './scenario.js';

describe('--filter=reopen --filter=error file disk.img', () => {
  let dir: string;
  let disk: string;
  let data: Buffer;
  let server: ServerProcess | undefined;

  beforeEach(() => {
    dir = tempDir();
    disk = join(dir, 'disk.img');
    data = randomBytes(16 * 1024 * 1024);
    writeFileSync(disk, data);
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('nbdcopy both ways through 30% injected errors: every byte arrives, every error was retried', async () => {
    server = await startServer([
      '-v',
      '--filter=reopen',
      '--filter=error',
      'file',
      disk,
      'error-rate=30%',
      'error-seed=1',
      'retries=40',
      'retry-delay=1ms',
      'retry-exponential=no',
    ]);
    const out = join(dir, 'out.img');
    await runOk('nbdcopy', [server.uri, out]);
    expect(readFileSync(out).equals(data)).toBe(true);

    const source = join(dir, 'source.img');
    const written = randomBytes(data.length);
    writeFileSync(source, written);
    await runOk('nbdcopy', [source, server.uri]);
    expect(readFileSync(disk).equals(written)).toBe(true);

    const log = server.stderr();
    const injected = log.match(/injecting EIO into \w+/g)?.length ?? 0;
    const retried = log.match(/reopen\[\d+\]: debug: \w+ failed on context \d+: EIO: injected EIO/g)?.length ?? 0;
    expect(injected).toBeGreaterThan(0);
    expect(retried).toBe(injected);
  });

  it('an outage (the trigger file exists) is ridden out: the read completes once it ends', async () => {
    const trigger = join(dir, 'outage');
    writeFileSync(trigger, '');
    server = await startServer(['-v', '--filter=reopen', '--filter=error', 'file', disk, 'error-rate=1', `error-file=${trigger}`, 'retries=50', 'retry-delay=50ms', 'retry-exponential=no']);
    const s = server;
    const read = nbdsh(s.uri, `assert h.pread(65536, 4096) == open(${JSON.stringify(disk)}, "rb").read()[4096:4096 + 65536]`);
    await until(() => s.stderr().includes('retry 3 of 50'));
    unlinkSync(trigger);
    await read;
    expect(s.stderr()).toMatch(/reopen: context \d+ is open/);
  });
});
