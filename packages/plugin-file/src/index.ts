import { closeSync, constants, fdatasync, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { API_VERSION, definePlugin, errorCode, errorMessage, Flag, nbdError, toSafeNumber, type PluginHandle } from '@nbdkit-ts/core';

/** fdatasync on the thread pool: a flush may take long and must not stall other requests. */
function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e === null ? resolve() : reject(e))));
}

/**
 * Opens `path` read-write, or read-only when asked to or when writing is not
 * allowed (the quiet fallback of nbdkit's file plugin).
 */
function openFile(path: string, readonly: boolean): { fd: number; writable: boolean } {
  if (!readonly) {
    try {
      return { fd: openSync(path, constants.O_RDWR), writable: true };
    } catch (e) {
      const code = errorCode(e);
      if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw e;
    }
  }
  return { fd: openSync(path, constants.O_RDONLY), writable: false };
}

/**
 * One open file. Reads and writes are done on the event loop's thread (a
 * page-cache hit costs microseconds, far less than a hop to the thread
 * pool); fdatasync goes to the thread pool.
 */
class FileHandle implements PluginHandle {
  constructor(
    private readonly fd: number,
    private readonly writable: boolean,
  ) {}

  capabilities() {
    return {
      size: BigInt(fstatSync(this.fd, { bigint: true }).size),
      canWrite: this.writable,
      canFlush: true,
      canFua: 'native' as const,
      canMultiConn: true,
      canCache: 'emulate' as const,
    };
  }

  pread(buf: Uint8Array, offset: bigint): void {
    const at = toSafeNumber(offset, 'offset');
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, at + done);
      if (n === 0) throw nbdError('EIO', `read at ${at + done}: unexpected end of file`);
      done += n;
    }
  }

  pwrite(buf: Uint8Array, offset: bigint, flags: number): void | Promise<void> {
    // A number position: Node's writeSync ignores a bigint one and writes at the file position.
    const at = toSafeNumber(offset, 'offset');
    let done = 0;
    while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done, at + done);
    if (flags & Flag.FUA) return datasync(this.fd);
  }

  flush(): Promise<void> {
    return datasync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export default definePlugin(() => {
  let file: string | undefined;
  return {
    apiVersion: API_VERSION,
    name: 'file',
    version: '1.0.0',
    description: 'serve a file or block device',
    params: [{ name: 'file', description: 'the file or block device to serve', magic: true }],
    concurrency: 'parallel',
    config(key, value) {
      if (key === 'file') {
        if (file !== undefined) throw new Error('file= given more than once');
        if (value === '') throw new Error('file= must not be empty');
        file = value;
      }
    },
    configComplete() {
      if (file === undefined) throw new Error('file= is required: the file or block device to serve (nbdkit-ts file disk.img)');
      try {
        statSync(file);
      } catch (e) {
        throw new Error(`file=${file}: ${errorMessage(e)}`);
      }
    },
    open({ readonly }) {
      const { fd, writable } = openFile(file as string, readonly);
      return new FileHandle(fd, writable);
    },
  };
});
