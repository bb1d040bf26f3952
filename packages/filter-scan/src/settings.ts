import { parseBool, parseSize, type ParamSpec } from '@nbdkit-ts/core';

/** The filter's configuration. */
export interface Settings {
  /** A client's read beyond the scan moves the scan past it (scan-ahead). */
  ahead: boolean;
  /** The scan goes on where it was when clients come back (scan-clock); false: it starts over. */
  clock: boolean;
  /** Start over once the whole export was scanned (scan-forever). */
  forever: boolean;
  /** Bytes per cache request (scan-size). */
  size: number;
  /** The export scanned; undefined: the default export of the layer beneath. */
  exportName: string | undefined;
}

/** The parameters of the filter: nbdkit's, and scan-export. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'scan-ahead', description: 'true (default): a read beyond the scan moves the scan past it' },
  { name: 'scan-clock', description: 'true (default): the scan goes on where it was when clients come back; false: it starts over' },
  { name: 'scan-forever', description: 'true: scan again and again while the server runs (default false: once)' },
  { name: 'scan-size', description: 'bytes per prefetch request, a power of two from 512 to 32M (default 2M)' },
  { name: 'scan-export', description: 'the export to scan (default: the default export)' },
];

/** The defaults, as in nbdkit. */
export function defaultSettings(): Settings {
  return { ahead: true, clock: true, forever: false, size: 2 * 1024 * 1024, exportName: undefined };
}

/** Applies one `key=value`; throws an error naming the parameter when the value is not valid. The last one given wins. */
export function applyParam(settings: Settings, key: string, value: string): void {
  switch (key) {
    case 'scan-ahead':
      settings.ahead = parseBool(key, value);
      return;
    case 'scan-clock':
      settings.clock = parseBool(key, value);
      return;
    case 'scan-forever':
      settings.forever = parseBool(key, value);
      return;
    case 'scan-size': {
      const size = parseSize(key, value);
      if (size < 512n || size > 32n << 20n || (size & (size - 1n)) !== 0n) throw new Error(`${key}=${value}: expected a power of two from 512 to 32M`);
      settings.size = Number(size);
      return;
    }
    case 'scan-export':
      settings.exportName = value;
      return;
    default:
      throw new Error(`${key}: not a parameter of the scan filter`);
  }
}
