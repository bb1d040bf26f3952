/** A `key=value` parameter a layer accepts. */
export interface ParamSpec {
  /** The key, as typed on the command line. Filters usually prefix it with their name. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /** Plugins only: bare words on the command line are given to this key (`file disk.img`). */
  readonly magic?: boolean;
}

/**
 * Parses a boolean parameter the way nbdkit does: 1/true/yes/on and
 * 0/false/no/off, any case. Throws an error naming the key otherwise.
 */
export function parseBool(key: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`${key}=${value}: expected a boolean (yes/no, true/false, on/off, 1/0)`);
}

const SIZE_UNITS: Record<string, bigint> = {
  '': 1n, b: 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n, p: 1n << 50n, e: 1n << 60n, s: 512n,
};

/**
 * Parses a size the way nbdkit does: a number with an optional unit
 * (b, k/K, M, G, T, P, E as powers of 1024, s for 512-byte sectors, optionally
 * followed by `iB`/`B`). Throws an error naming the key otherwise.
 */
export function parseSize(key: string, value: string): bigint {
  const m = /^\s*(\d+)\s*([bkmgtpes]?)(?:i?b)?\s*$/i.exec(value);
  if (m === null) throw new Error(`${key}=${value}: expected a size such as 1048576, 64K, 1M or 2G`);
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1n;
  const size = BigInt(m[1] ?? '0') * unit;
  if (size > (1n << 63n) - 1n) throw new Error(`${key}=${value}: size is too large`);
  return size;
}
