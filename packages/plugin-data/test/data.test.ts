import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, run, runOk, startServer, tempDir } from '@nbdkit-ts/testing';

/** Runs `nbdkit-ts -U - data ARGS --run CMD` and returns what CMD printed. */
async function captive(args: string[], cmd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await runOk(process.execPath, [cliPath(), '-U', '-', 'data', ...args, '--run', cmd], { env });
  return r.stdout;
}

describe('the data plugin', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves an MBR described in the data language, as qemu-img and nbdinfo see it', async () => {
    const mbr = '@0x1be 0 0 2 0 0x83 0x20 0x20 0 le32:1 le32:0x7ff @0x1fe 0x55 0xaa';
    const out = await captive([mbr, 'size=1M'], 'nbdinfo --size "$uri"; qemu-img info -f raw "$nbd" | grep "virtual size"; nbdsh -u "$uri" -c "print(h.pread(2, 510).hex())"');
    expect(out).toBe('1048576\nvirtual size: 1 MiB (1048576 bytes)\n55aa\n');
  });

  it('reports the pages written as data, those written with zeroes only as zero, and the rest as holes', async () => {
    const out = await captive(['@32768 1 @65536 1 @131072 0 @163840 0', 'size=1M'], 'qemu-img map -f raw --output=json "$nbd"');
    expect((JSON.parse(out) as { start: number; length: number; data: boolean; zero: boolean }[]).map(({ start, length, data, zero }) => [start, length, data, zero])).toEqual([
      [0, 32768, false, true],
      [32768, 65536, true, false],
      [98304, 32768, false, true],
      [131072, 65536, true, true],
      [196608, 851968, false, true],
    ]);
  });

  it('reads files and variables from the environment, and raw= and base64= serve their bytes', async () => {
    const file = join(dir, 'sector');
    writeFileSync(file, 'boot');
    const read = `nbdsh -u "$uri" -c 'import sys; sys.stdout.buffer.write(h.pread(h.get_size(), 0))'`;
    expect(await captive([`<${file} @^8 $tail`], read, { tail: ' "!"*3 ' })).toBe('boot\0\0\0\0!!!');
    expect(await captive(['raw=Hello, world!'], read)).toBe('Hello, world!');
    expect(await captive(['base64=MTIz', 'size=5'], read)).toBe('123\0\0');
  });

  it('takes other key=value parameters as variables, before the environment', async () => {
    const read = `nbdsh -u "$uri" -c 'import sys; sys.stdout.buffer.write(h.pread(h.get_size(), 0))'`;
    expect(await captive(['"<" $a*2 $b ">"', 'a=" x "', 'b="y"'], read, { b: '"env"' })).toBe('< x  x y>');
    const dump = await runOk(process.execPath, [cliPath(), '--dump-plugin', 'data']);
    expect(dump.stdout).toMatch(/^data_base64=yes$/m);
  });

  it('shares the disk between connections, writable, and keeps writes until it exits', async () => {
    const server = await startServer(['data', '"abc" @^4096', 'allocator=malloc']);
    try {
      await nbdsh(server.uri, 'h.pwrite(b"XY", 1)');
      await nbdsh(server.uri, 'assert h.pread(4, 0) == b"aXY\\0", h.pread(4, 0); assert h.can_multi_conn()');
    } finally {
      await server.stop();
    }
  });

  it.each([
    [[], 'data: one of data=, raw= or base64= is required'],
    [['1', 'raw=x'], 'data: data= and raw= cannot be used together: give one of data=, raw= or base64='],
    [['1', '2'], 'data: data= given more than once'],
    [['base64=!!!'], 'data: base64=!!!: not valid base64'],
    [['1', 'size=x'], 'data: size=x: expected a size'],
    [['1', 'allocator=zstd'], 'data: allocator=zstd: zstd is not supported'],
    [['1 2 (3'], 'data: data=: at character 5: ( without its closing )'],
    [['@+10 @-11'], 'data: data=: at character 6: @-11 moves before the start (the offset is 10)'],
    [['$unset_variable'], 'data: data=: at character 1: $unset_variable is not set'],
  ])('refuses %j, naming the parameter', async (params, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', 'data', ...params, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
