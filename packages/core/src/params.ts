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

/**
 * Parses a whole number from `min` to `max` (decimal, or hexadecimal with
 * `0x`). Throws an error naming the key and the range otherwise.
 */
export function parseInteger(key: string, value: string, min: number, max: number): number {
  const v = value.trim();
  const n = /^-?\d+$/.test(v) ? Number(v) : /^0x[\da-f]+$/i.test(v) ? Number.parseInt(v.slice(2), 16) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${key}=${value}: expected a whole number from ${min} to ${max}`);
  return n;
}

/** The longest delay a timer can wait (setTimeout's limit, about 24.8 days), in milliseconds. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

const DELAY_UNITS: Record<string, number> = { '': 1000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };

/**
 * Parses a delay as nbdkit does: seconds (`2`, `0.5`, `2s`), milliseconds
 * (`500ms`), microseconds (`500us`) or nanoseconds (`500ns`), from 0 to
 * {@link MAX_DELAY_MS}. Returns milliseconds (fractional below 1 ms).
 */
export function parseDelay(key: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|ms|us|ns)?\s*$/.exec(value);
  if (m === null) throw new Error(`${key}=${value}: expected a delay in seconds (2, 0.5, 2s), milliseconds (500ms), microseconds (500us) or nanoseconds (500ns)`);
  const ms = Number(m[1]) * (DELAY_UNITS[m[2] ?? ''] ?? 1000);
  if (ms > MAX_DELAY_MS) throw new Error(`${key}=${value}: the delay must be at most ${MAX_DELAY_MS / 1000} seconds`);
  return ms;
}

/** Linux's errno names (and ENOTSUP, ESHUTDOWN, which libuv and nbdkit use). */
const ERRNO_NAMES = new Set(
  (
    'EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY EEXIST EXDEV ' +
    'ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ' +
    'ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP EWOULDBLOCK ENOMSG EIDRM ENOSTR ENODATA ETIME ENOSR EREMOTE ENOLINK EPROTO ' +
    'EMULTIHOP EBADMSG EOVERFLOW EILSEQ EUSERS ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ' +
    'ESOCKTNOSUPPORT EOPNOTSUPP ENOTSUP EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ' +
    'ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH ' +
    'EALREADY EINPROGRESS ESTALE EDQUOT ECANCELED ENOMEDIUM EMEDIUMTYPE ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED ' +
    'EOWNERDEAD ENOTRECOVERABLE ERFKILL EHWPOISON'
  ).split(' '),
);

/** Whether `name` is an errno name such as `EIO` (capitals). */
export function isErrnoName(name: string): boolean {
  return ERRNO_NAMES.has(name);
}

/** Parses an errno name such as `EIO` (any case). Throws an error naming the key otherwise. */
export function parseErrnoName(key: string, value: string): string {
  const name = value.trim().toUpperCase();
  if (!ERRNO_NAMES.has(name)) throw new Error(`${key}=${value}: "${name}" is not an errno name (such as EIO, ENOSPC, EPERM or ESHUTDOWN)`);
  return name;
}
