import { ExtentType, type Capabilities, type Concurrency, type Extent, type ExportInfo, type Support } from '@nbdkit-ts/core';
import { shellQuote } from './shell-quote.js';

/** The fields of each event, written as nbdkit's log writes them. */

/** `0x1f`: offsets, counts and sizes are written in hexadecimal. */
export const hex = (n: bigint | number): string => `0x${n.toString(16)}`;

/** 1 when `flag` is set in `flags`, else 0. */
export const bit = (flags: number, flag: number): number => ((flags & flag) !== 0 ? 1 : 0);

/** nbdkit's numbers of the thread models (NBDKIT_THREAD_MODEL_*). */
const THREAD_MODEL: Readonly<Record<Concurrency, number>> = {
  'serialize-connections': 0,
  'serialize-all-requests': 1,
  'serialize-requests': 2,
  parallel: 3,
};

/** Ready: `thread_model=3`. */
export const readyFields = (concurrency: Concurrency): string => `thread_model=${THREAD_MODEL[concurrency]}`;

/** ListExports, LEAVE: `exports=("" a "b c")`. */
export const exportsFields = (exports: readonly ExportInfo[]): string => `exports=(${exports.map((e) => shellQuote(e.name)).join(' ')}) return=0`;

/** Extents, LEAVE: `extents=(0x0 0x8000 "hole,zero" 0x8000 0x8000 "")`. */
export function extentsFields(extents: readonly Extent[]): string {
  const each = extents.map((e) => {
    const kinds = [...(e.type & ExtentType.HOLE ? ['hole'] : []), ...(e.type & ExtentType.ZERO ? ['zero'] : [])];
    return `${hex(e.offset)} ${hex(e.length)} "${kinds.join(',')}"`;
  });
  return `extents=(${each.join(' ')}) return=0`;
}

/** none 0, emulate 1, native 2, as nbdkit's NBDKIT_ZERO_*, NBDKIT_FUA_* and NBDKIT_CACHE_*. */
const SUPPORT: Readonly<Record<Support, number>> = { none: 0, emulate: 1, native: 2 };

/** Connect: the export, TLS and what the layer beneath can do. Block sizes are 0 when it has none. */
export function connectFields(exportName: string, tls: boolean, c: Capabilities): string {
  const b = (v: boolean): number => (v ? 1 : 0);
  return [
    `export=${shellQuote(exportName)}`,
    `tls=${b(tls)}`,
    `size=${hex(c.size)}`,
    `minsize=${hex(c.blockSize?.minimum ?? 0)}`,
    `prefsize=${hex(c.blockSize?.preferred ?? 0)}`,
    `maxsize=${hex(c.blockSize?.maximum ?? 0)}`,
    `write=${b(c.canWrite)}`,
    `flush=${b(c.canFlush)}`,
    `rotational=${b(c.isRotational)}`,
    `trim=${b(c.canTrim)}`,
    `zero=${SUPPORT[c.canZero]}`,
    `fua=${SUPPORT[c.canFua]}`,
    `extents=${b(c.canExtents)}`,
    `cache=${SUPPORT[c.canCache]}`,
    `fast_zero=${b(c.canFastZero)}`,
  ].join(' ');
}
