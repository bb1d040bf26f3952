import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, run, tempDir } from '@nbdkit-ts/testing';

const PLUGIN = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const ZEROES = 'pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none';
let dir: string;

beforeAll(() => {
  dir = tempDir();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const captive = (args: string[], command: string) => run(process.execPath, [cliPath(), '-U', '-', PLUGIN, ...args, '--run', command], { cwd: dir });

describe('the eval plugin', () => {
  it('runs missing= for every method not given, and serves what the snippets say', async () => {
    const r = await captive(['get_size=echo 64M', ZEROES, 'missing=echo "$1" >> missing.log; exit 2'], 'nbdinfo "$uri"');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/export-size: 67108864/);
    expect(r.stdout).toMatch(/is_read_only: true/);
    const called = readFileSync(join(dir, 'missing.log'), 'utf8').split('\n');
    for (const m of ['config_complete', 'thread_model', 'get_ready', 'after_fork', 'preconnect', 'open', 'can_write', 'is_rotational', 'close', 'unload']) {
      expect(called).toContain(m);
    }
    expect(called).not.toContain('get_size');
  });

  it('implies can_write, can_flush, can_trim, can_zero, can_extents and can_cache from the methods given', async () => {
    const r = await captive(
      ['get_size=echo 1M', ZEROES, 'pwrite=cat >/dev/null', 'flush=:', 'trim=:', 'zero=:', 'extents=echo 0 1M hole,zero', 'cache=:'],
      'nbdinfo "$uri"',
    );
    expect(r.status).toBe(0);
    for (const line of ['is_read_only: false', 'can_flush: true', 'can_trim: true', 'can_zero: true', 'can_cache: true', 'can_fua: true']) expect(r.stdout).toContain(line);
  });

  it('gives keys that name no method to config=, in order', async () => {
    const r = await captive(['config=echo "$2=$3" >> config.log', 'get_size=echo 0', 'a=1', 'b=two'], 'true');
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'config.log'), 'utf8')).toBe('a=1\nb=two\n');
  });

  it("--dump-plugin says which exit statuses have a meaning, and adds the dump_plugin snippet's lines", async () => {
    const r = await run(process.execPath, [cliPath(), '--dump-plugin', PLUGIN, 'dump_plugin=echo extra=stuff; echo more=yes']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^name=eval$/m);
    expect(r.stdout).toMatch(/^max_known_status=8\nextra=stuff\nmore=yes\n$/m);
  });

  it.each([
    [['get_size=echo 1', 'get_size=echo 2'], 'eval: method get_size defined more than once on the command line'],
    [['get_size=echo 1', 'disk=x.img'], "eval: callback 'disk' is unknown, and there is no 'config' callback to handle it"],
    [['config=echo ENOSPC no room for $2 >&2; exit 1', 'disk=x.img'], '/config: no room for disk'],
  ])('refuses %j, naming what is wrong', async (params, message) => {
    const r = await captive(params, 'true');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('fails a connection whose get_size fails, with the message the snippet printed', async () => {
    const r = await captive(['get_size=echo EINVAL no size today >&2; exit 1', ZEROES], 'nbdinfo --size "$uri"');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('/get_size: no size today');
  });
});
