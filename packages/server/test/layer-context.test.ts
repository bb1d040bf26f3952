import { describe, expect, it } from 'vitest';
import { ExtentList, Flag, errorCode, nbdError, type Capabilities, type Handle, type Logger } from '@nbdkit-ts/core';
import { LayerContext } from '../src/stack/layer-context.js';
import type { LoadedLayer } from '../src/stack/loaded-layer.js';
import { Scope } from '../src/stack/scope.js';

const SIZE = 4096n;

function logger(lines: string[]): Logger {
  const log = (level: string) => (msg: string) => lines.push(`${level}: ${msg}`);
  return { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') };
}

/** A plugin context on `handle`, with the capabilities given over a writable 4 KiB export with nothing else. */
function pluginContext(handle: Handle, caps: Partial<Capabilities> = {}): { ctx: LayerContext; lines: string[] } {
  const lines: string[] = [];
  const log = logger(lines);
  const layer = { name: 'p', index: 0, log, logFor: () => log, census: { open: 0 } } as unknown as LoadedLayer;
  const scope = new Scope('', false, false, new AbortController().signal, 1, log);
  const ctx = new LayerContext(layer, '', false, scope, handle, undefined);
  ctx.capabilities = {
    size: SIZE,
    canWrite: true,
    canFlush: false,
    isRotational: false,
    canTrim: false,
    canZero: 'none',
    canFastZero: false,
    canFua: 'none',
    canMultiConn: false,
    canExtents: false,
    canCache: 'none',
    blockSize: undefined,
    ...caps,
  };
  return { ctx, lines };
}

/** The errno name a call fails with, synchronously or not; 'ok' when it succeeds. */
async function outcome(call: () => unknown): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (e) {
    return errorCode(e);
  }
}

describe('LayerContext checks', () => {
  const writes: [number, bigint, number][] = [];
  const handle: Handle = {
    pread: (buf) => void buf.fill(7),
    pwrite: (buf, offset, flags) => void writes.push([buf.length, offset, flags]),
    flush: () => undefined,
  };

  it('refuses ranges outside the export: EINVAL for reads, ENOSPC for writes and zeroes', async () => {
    const { ctx } = pluginContext(handle, { canZero: 'emulate' });
    expect(await outcome(() => ctx.pread(new Uint8Array(1), SIZE, 0))).toBe('EINVAL');
    expect(await outcome(() => ctx.pread(new Uint8Array(2), SIZE - 1n, 0))).toBe('EINVAL');
    expect(await outcome(() => ctx.pread(new Uint8Array(1), -1n, 0))).toBe('EINVAL');
    expect(await outcome(() => ctx.pread(new Uint8Array(0), 0n, 0))).toBe('EINVAL');
    expect(await outcome(() => ctx.pwrite(new Uint8Array(2), SIZE - 1n, 0))).toBe('ENOSPC');
    expect(await outcome(() => ctx.zero(2, SIZE - 1n, 0))).toBe('ENOSPC');
    expect(await outcome(() => ctx.pread(new Uint8Array(1), SIZE - 1n, 0))).toBe('ok');
  });

  it('refuses what the capabilities rule out', async () => {
    const { ctx } = pluginContext(handle);
    expect(await outcome(() => ctx.flush(0))).toBe('EINVAL');
    expect(await outcome(() => ctx.trim(1, 0n, 0))).toBe('EINVAL');
    expect(await outcome(() => ctx.zero(1, 0n, 0))).toBe('EINVAL');
    expect(await outcome(() => ctx.cache(1, 0n, 0))).toBe('EINVAL');
    expect(await outcome(() => ctx.pwrite(new Uint8Array(1), 0n, Flag.FUA))).toBe('EINVAL');
    const { ctx: ro } = pluginContext(handle, { canWrite: false });
    expect(await outcome(() => ro.pwrite(new Uint8Array(1), 0n, 0))).toBe('EROFS');
  });

  it('a closed context answers EIO', async () => {
    const { ctx } = pluginContext(handle);
    await ctx.close();
    expect(await outcome(() => ctx.pread(new Uint8Array(1), 0n, 0))).toBe('EIO');
    expect(await outcome(() => ctx.flush(0))).toBe('EIO');
  });

  it('emulates zero by writes, FUA by a flush, extents as data and cache by reads', async () => {
    writes.length = 0;
    let flushes = 0;
    let reads = 0;
    const { ctx } = pluginContext(
      { ...handle, pread: (buf) => void (reads += buf.length), flush: () => {
          flushes++;
        },
      },
      { canZero: 'emulate', canFua: 'emulate', canFlush: true, canCache: 'emulate' },
    );
    await ctx.zero(100, 10n, Flag.FUA | Flag.MAY_TRIM);
    expect(writes).toEqual([[100, 10n, 0]]);
    expect(flushes).toBe(1);
    expect(await outcome(() => ctx.zero(100, 10n, Flag.FAST_ZERO))).toBe('EINVAL');
    const { ctx: fast } = pluginContext(handle, { canZero: 'emulate', canFastZero: true });
    expect(await outcome(() => fast.zero(100, 10n, Flag.FAST_ZERO))).toBe('ENOTSUP');
    const extents = new ExtentList(0n, SIZE);
    await ctx.extents(Number(SIZE), 0n, 0, extents);
    expect(extents.extents).toEqual([{ offset: 0n, length: SIZE, type: 0 }]);
    await ctx.cache(Number(SIZE), 0n, 0);
    expect(reads).toBe(Number(SIZE));
  });

  it("a layer's fault becomes EIO naming the layer and is logged; a coded error goes on as it is", async () => {
    const { ctx, lines } = pluginContext({
      pread: (_buf, offset) => {
        if (offset === 0n) throw new TypeError('x is not a function');
        if (offset === 1n) return Promise.reject(new Error('rejected'));
        throw nbdError('ENOSPC', 'full');
      },
    });
    expect(() => ctx.pread(new Uint8Array(1), 0n, 0)).toThrow(expect.objectContaining({ code: 'EIO', message: 'p: pread: TypeError: x is not a function' }));
    expect(await outcome(() => ctx.pread(new Uint8Array(1), 1n, 0))).toBe('EIO');
    expect(await outcome(() => ctx.pread(new Uint8Array(1), 2n, 0))).toBe('ENOSPC');
    expect(lines).toEqual(['error: pread: TypeError: x is not a function', 'error: pread: rejected']);
  });

  it('a synchronous layer is answered synchronously', () => {
    const { ctx } = pluginContext(handle);
    expect(ctx.pread(new Uint8Array(1), 0n, 0)).toBeUndefined();
  });
});
