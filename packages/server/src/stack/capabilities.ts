import { nbdError, type BlockSize, type Capabilities, type Handle, type Support } from '@nbdkit-ts/core';

const SUPPORT: readonly Support[] = ['none', 'emulate', 'native'];

/**
 * The defaults a plugin's capabilities take from the calls its handle
 * implements (documented on PluginCapabilities in core).
 */
export function pluginDefaults(handle: Handle): Omit<Capabilities, 'size'> {
  const canWrite = handle.pwrite !== undefined;
  return {
    canWrite,
    canFlush: handle.flush !== undefined,
    isRotational: false,
    canTrim: handle.trim !== undefined,
    canZero: handle.zero !== undefined ? 'native' : canWrite ? 'emulate' : 'none',
    canFastZero: handle.zero === undefined,
    canFua: handle.flush !== undefined ? 'emulate' : 'none',
    canMultiConn: false,
    canExtents: handle.extents !== undefined,
    canCache: handle.cache !== undefined ? 'native' : 'none',
    blockSize: undefined,
  };
}

/** Capabilities a read-only context keeps: nothing that writes. */
export function readonlyCapabilities(c: Capabilities): Capabilities {
  return { ...c, canWrite: false, canTrim: false, canZero: 'none', canFastZero: false, canFua: 'none' };
}

/** Checks the shape of capabilities a layer returned; throws EIO naming the layer and the field. */
export function checkCapabilities(layer: string, c: Partial<Capabilities>): Capabilities {
  const bad = (field: string, value: unknown): never => {
    throw nbdError('EIO', `${layer}: capabilities: ${field} is ${String(value)}`);
  };
  if (typeof c.size !== 'bigint' || c.size < 0n || c.size >= 1n << 63n) bad('size', c.size);
  for (const k of ['canWrite', 'canFlush', 'isRotational', 'canTrim', 'canFastZero', 'canMultiConn', 'canExtents'] as const) {
    if (typeof c[k] !== 'boolean') bad(k, c[k]);
  }
  for (const k of ['canZero', 'canFua', 'canCache'] as const) {
    if (!SUPPORT.includes(c[k] as Support)) bad(k, c[k]);
  }
  if (c.description !== undefined && typeof c.description !== 'string') bad('description', c.description);
  if (c.blockSize !== undefined) checkBlockSize(layer, c.blockSize);
  return c as Capabilities;
}

function checkBlockSize(layer: string, b: BlockSize): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  const ok =
    pow2(b.minimum) &&
    b.minimum <= 65536 &&
    pow2(b.preferred) &&
    b.preferred >= 512 &&
    b.preferred >= b.minimum &&
    b.preferred <= 32 * 1024 * 1024 &&
    Number.isInteger(b.maximum) &&
    b.maximum >= b.preferred &&
    b.maximum <= 0xffffffff &&
    (b.maximum === 0xffffffff || b.maximum % b.minimum === 0);
  if (!ok) throw nbdError('EIO', `${layer}: capabilities: invalid blockSize ${JSON.stringify(b)}`);
}
