import { describe, expect, it } from 'vitest';
import { cliPath, runOk } from '@nbdkit-ts/testing';

/**
 * An 8 GiB disk whose layer reports, whatever it is asked, data up to 4 KiB,
 * a hole up to 8 KiB, then a hole of zeroes to the end: more than asked for.
 */
const DISK = ['eval', 'get_size=echo 8G', 'pread=exit 1', 'extents=echo 0 4096; echo 4096 4096 hole; echo 8192 $((8 * 1024 * 1024 * 1024 - 8192)) hole,zero'];

/** Block status requests (count, offset, REQ_ONE) and the descriptors the client receives. */
const CASES: [number, number, boolean, number[]][] = [
  // The whole of the extent that reaches past the request, as nbdkit.
  [512, 0, false, [4096, 0]],
  [2048, 0, false, [4096, 0]],
  [1000, 5000, false, [3192, 1]],
  // With REQ_ONE, one extent cut at the end of the request.
  [512, 0, true, [512, 0]],
  [1000, 5000, true, [1000, 1]],
  // An extent longer than a descriptor holds is sent as 4 GiB - 1 bytes.
  [1 << 20, 3 * 2 ** 30, false, [0xffff_ffff, 3]],
  [0xffff_f000, 0, false, [4096, 0, 4096, 1, 0xffff_ffff, 3]],
];

/** Runs the cases on `command` (a server serving DISK on `-U -`) and returns what the client got. */
async function statuses(command: string, args: readonly string[], cases: readonly [number, number, boolean, number[]][]): Promise<number[][]> {
  const script = `import json
out = []
for n, off, one in json.loads(${JSON.stringify(JSON.stringify(cases.map(([n, off, one]) => [n, off, one])))}):
    got = []
    h.block_status(n, off, lambda ctx, o, e, err: got.extend(e), nbd.CMD_FLAG_REQ_ONE if one else 0)
    out.append(got)
print(json.dumps(out))`;
  const { stdout } = await runOk(command, [...args, '-U', '-', ...DISK, '--run', `nbdsh --base-allocation -u "$uri" -c '${script}'`]);
  return JSON.parse(stdout) as number[][];
}

describe('block status replies', () => {
  it('tell the client what the layers reported past its request: the whole of the extent that reaches its end', async () => {
    expect(await statuses(process.execPath, [cliPath()], CASES)).toEqual(CASES.map((c) => c[3]));
  });

  it("are nbdkit's", async () => {
    expect(await statuses(process.execPath, [cliPath()], CASES)).toEqual(await statuses('nbdkit', [], CASES));
  });

  it('stop at an extent that ends where the request does (nbdkit sends the next one too, against the specification)', async () => {
    // The lengths of all but the last descriptor MUST sum to less than the request's.
    const exact: [number, number, boolean, number[]][] = [
      [4096, 0, false, [4096, 0]],
      [8192, 0, false, [4096, 0, 4096, 1]],
    ];
    expect(await statuses(process.execPath, [cliPath()], exact)).toEqual(exact.map((c) => c[3]));
  });
});
