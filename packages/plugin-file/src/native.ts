import { errorMessage } from '@nbdkit-ts/core';

/** fallocate(2) modes (Linux ABI, the same on every architecture). */
export const Fallocate = {
  /** Allocate the range (mode 0). */
  ALLOCATE: 0,
  KEEP_SIZE: 0x01,
  PUNCH_HOLE: 0x02,
  ZERO_RANGE: 0x10,
} as const;

/** posix_fadvise(2) advice values (Linux ABI; s390x numbers DONTNEED and NOREUSE differently). */
export const Advice = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: process.arch === 's390x' ? 6 : 4,
} as const;

/** sync_file_range(2) flags. */
export const SyncRange = {
  WAIT_BEFORE: 1,
  WRITE: 2,
  WAIT_AFTER: 4,
} as const;

const SEEK_END = 2;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;
/** BLKZEROOUT = _IO(0x12, 127): no size or direction bits, so one number everywhere. */
const BLKZEROOUT = 0x127f;

/**
 * The system calls Node.js lacks, called synchronously on the calling thread
 * (except the `*Async` ones, which run on a worker thread). Each returns the
 * errno name of a failure (`EOPNOTSUPP`, `EIO`, ...) or `undefined` on
 * success, so that callers can switch methods off without the cost of an
 * exception.
 */
export interface NativeFileOps {
  /** What provides the calls, for `-v`. */
  readonly description: string;
  /** fallocate(fd, mode, offset, length). */
  fallocate(fd: number, mode: number, offset: number, length: number): string | undefined;
  /** ioctl(fd, BLKZEROOUT, [offset, length]) on a block device. */
  zeroOut(fd: number, offset: number, length: number): string | undefined;
  /** posix_fadvise(fd, offset, length, advice). */
  fadvise(fd: number, offset: number, length: number, advice: number): string | undefined;
  /**
   * lseek(fd, offset, SEEK_DATA / SEEK_HOLE / SEEK_END): the offset found,
   * or the errno name (ENXIO: no data after `offset`).
   */
  seekData(fd: number, offset: number): number | string;
  seekHole(fd: number, offset: number): number | string;
  seekEnd(fd: number): number | string;
  /** sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE): starts writing the range back. */
  startWriteback(fd: number, offset: number, length: number): string | undefined;
  /**
   * On a worker thread: waits for the range to be written back, then drops
   * it from the page cache (posix_fadvise DONTNEED). Failures are ignored:
   * this is advice.
   */
  evictAsync(fd: number, offset: number, length: number): Promise<void>;
}

/** Whether the native calls exist here: they are Linux system calls. */
export const NATIVE_PLATFORM = process.platform === 'linux';

/** The outcome of loading the native calls: the calls, or why they are not there. */
export type NativeLoad = { readonly ops: NativeFileOps; readonly reason?: undefined } | { readonly ops?: undefined; readonly reason: string };

type Koffi = typeof import('koffi');
type Fn = ReturnType<ReturnType<Koffi['load']>['func']>;

function bind(koffi: Koffi): NativeFileOps {
  const libc = koffi.load(null);
  // 32-bit ABIs have a 32-bit off_t behind the plain names: use the 64-bit ones there.
  const lfs = koffi.sizeof('long') === 8 ? '' : '64';
  const fallocate = libc.func(`int fallocate${lfs}(int fd, int mode, int64_t offset, int64_t len)`);
  const lseek = libc.func(`int64_t lseek${lfs}(int fd, int64_t offset, int whence)`);
  const fadvise = libc.func(`int posix_fadvise${lfs}(int fd, int64_t offset, int64_t len, int advice)`);
  const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');
  const syncFileRange = libc.func('int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags)');

  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(koffi.os.errno)) {
    // Linux gives ENOTSUP and EOPNOTSUPP one number; report the one the kernel documents.
    if (!names.has(value) || name === 'EOPNOTSUPP') names.set(value, name);
  }
  const errnoName = (n: number) => names.get(n) ?? `errno ${n}`;
  const status = (r: number) => (r === 0 ? undefined : errnoName(koffi.errno()));
  const offsetOrError = (r: number | bigint) => (r < 0 ? errnoName(koffi.errno()) : Number(r));
  const range = new BigUint64Array(2);
  const async = (fn: Fn, ...args: unknown[]) =>
    new Promise<void>((resolve) => {
      (fn.async as (...a: unknown[]) => void)(...args, () => resolve());
    });

  return {
    description: `koffi ${koffi.version}`,
    fallocate: (fd, mode, offset, length) => status(fallocate(fd, mode, offset, length) as number),
    zeroOut(fd, offset, length) {
      range[0] = BigInt(offset);
      range[1] = BigInt(length);
      return status(ioctl(fd, BLKZEROOUT, 'uint64_t *', range) as number);
    },
    // posix_fadvise returns the error number instead of setting errno.
    fadvise: (fd, offset, length, advice) => {
      const r = fadvise(fd, offset, length, advice) as number;
      return r === 0 ? undefined : errnoName(r);
    },
    seekData: (fd, offset) => offsetOrError(lseek(fd, offset, SEEK_DATA) as number | bigint),
    seekHole: (fd, offset) => offsetOrError(lseek(fd, offset, SEEK_HOLE) as number | bigint),
    seekEnd: (fd) => offsetOrError(lseek(fd, 0, SEEK_END) as number | bigint),
    startWriteback: (fd, offset, length) => status(syncFileRange(fd, offset, length, SyncRange.WRITE) as number),
    async evictAsync(fd, offset, length) {
      await async(syncFileRange, fd, offset, length, SyncRange.WAIT_BEFORE | SyncRange.WRITE | SyncRange.WAIT_AFTER);
      await async(fadvise, fd, offset, length, Advice.DONTNEED);
    },
  };
}

/**
 * Loads the native calls through koffi (an FFI whose prebuilt binaries come
 * in its npm packages). Never throws: where koffi or a call is missing
 * (another OS, an architecture without a prebuilt binary) it says why.
 */
export async function loadNative(): Promise<NativeLoad> {
  if (!NATIVE_PLATFORM) return { reason: `the native calls are Linux system calls (this is ${process.platform})` };
  let koffi: Koffi;
  try {
    koffi = await import('koffi');
  } catch (e) {
    return { reason: `cannot load koffi: ${errorMessage(e)}` };
  }
  try {
    return { ops: bind(koffi) };
  } catch (e) {
    return { reason: `cannot bind the system calls: ${errorMessage(e)}` };
  }
}
