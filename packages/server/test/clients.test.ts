import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('real clients against nbdkit-ts file', () => {
  let dir: string;
  let image: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    const data = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeFileSync(image, data);
    server = await startServer(['file', image]);
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('nbdinfo --json shows size, flags and export name', async () => {
    const { stdout } = await runOk('nbdinfo', ['--json', server.uri]);
    const info = JSON.parse(stdout) as { exports: Record<string, unknown>[] };
    const e = info.exports[0] as Record<string, unknown>;
    expect(e['export-name']).toBe('');
    expect(e['export-size']).toBe(16 * 1024 * 1024);
    expect(e['is_read_only']).toBe(false);
    expect(e['can_flush']).toBe(true);
    expect(e['can_fua']).toBe(true);
    expect(e['can_multi_conn']).toBe(true);
  });

  it('qemu-img convert copies the export byte for byte, and compare agrees', async () => {
    const out = join(dir, 'copy.img');
    await runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', server.uri, out]);
    expect(sha(readFileSync(out))).toBe(sha(readFileSync(image)));
    await runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', server.uri, out]);
  });
});
