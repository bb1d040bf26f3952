import { errorMessage } from '@nbdkit-ts/core';

/** fallocate(2) mode: free the range, keep the file's size (Linux ABI). */
const PUNCH_HOLE_KEEP_SIZE = 0x02 | 0x01;

/** Frees `length` bytes at `offset` of the file open as `fd`; returns the errno name of a failure. */
export type PunchHole = (fd: number, offset: number, length: number) => string | undefined;

/**
 * Loads fallocate(2) through koffi (an FFI whose prebuilt binaries come in
 * its npm packages), which Node.js lacks. Throws an error saying why it
 * cannot.
 */
export async function loadPunchHole(): Promise<PunchHole> {
  if (process.platform !== 'linux') throw new Error(`fallocate(2) is a Linux call (this is ${process.platform})`);
  let koffi: typeof import('koffi');
  try {
    koffi = await import('koffi');
  } catch (e) {
    throw new Error(`cannot load koffi: ${errorMessage(e)}`, { cause: e });
  }
  const libc = koffi.load(null);
  const fallocate = libc.func(`int fallocate${koffi.sizeof('long') === 8 ? '' : '64'}(int fd, int mode, int64_t offset, int64_t len)`);
  const names = new Map(Object.entries(koffi.os.errno).map(([name, n]) => [n, name]));
  return (fd, offset, length) => ((fallocate(fd, PUNCH_HOLE_KEEP_SIZE, offset, length) as number) === 0 ? undefined : (names.get(koffi.errno()) ?? `errno ${koffi.errno()}`));
}
