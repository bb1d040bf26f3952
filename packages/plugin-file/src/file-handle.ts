import { closeSync, fdatasync, fstatSync, read, readSync, write, writeSync } from 'node:fs';
import {
  ExtentType,
  Flag,
  nbdError,
  toSafeNumber,
  type ExtentList,
  type Flags,
  type Logger,
  type MaybePromise,
  type PluginCapabilities,
  type PluginHandle,
  type SendFile,
} from '@nbdkit-ts/core';
import { blockDeviceInfo, deviceBlockSize, type BlockDeviceInfo } from './block-device.js';
import { canSeekHoles, seekExtents } from './extents.js';
import { Advice, NATIVE_PLATFORM, type NativeFileOps } from './native.js';
import type { NativeCalls } from './native-calls.js';
import type { OpenedFile } from './open-file.js';
import { PageCacheEvictor } from './page-cache.js';
import { ZeroMethods } from './zero.js';

/** fdatasync on the thread pool: a flush may take long and must not stall other requests. */
function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e === null ? resolve() : reject(e))));
}

/**
 * Reads from this size on go to the thread pool: the event loop goes on
 * sending earlier replies while the page cache is copied. Smaller ones are
 * done on the event loop's thread, where a page-cache hit costs less than
 * the hop to the pool.
 */
const READ_ON_POOL_FROM = 128 * 1024;

/**
 * Writes from this size on go to the thread pool. Smaller ones, 1 MiB
 * included, are done on the event loop's thread: the server receives the
 * next request's payload only after this one is in the page cache, yet
 * that costs less than the two thread switches of the hop to the pool
 * (sequential 256 KiB writes: 110-140 us of CPU per request on the event
 * loop against 140-190 via the pool, measured).
 */
const WRITE_ON_POOL_FROM = 1024 * 1024 + 1;

/** Reads all of `buf` at `at` on the thread pool. */
function readOnPool(fd: number, buf: Uint8Array, at: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      read(fd, buf, done, buf.length - done, at + done, (e, n) => {
        if (e !== null) reject(e);
        else if (n === 0) reject(nbdError('EIO', `read at ${at + done}: unexpected end of file`));
        else if (done + n < buf.length) step(done + n);
        else resolve();
      });
    };
    step(0);
  });
}

/** Writes all of `buf` at `at` on the thread pool. */
function writeOnPool(fd: number, buf: Uint8Array, at: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      write(fd, buf, done, buf.length - done, at + done, (e, n) => {
        if (e !== null) reject(e);
        else if (done + n < buf.length) step(done + n);
        else resolve();
      });
    };
    step(0);
  });
}

/** What a handle is given besides its file. */
export interface HandleOptions {
  /** The native calls, loaded by the first request that needs them. */
  readonly natives: NativeCalls;
  readonly log: Logger;
  /** `-D file.zero=1`. */
  readonly debugZero: boolean;
  /** The posix_fadvise advice of `fadvise=`. */
  readonly advice: number;
}

/**
 * One open file. Small reads and writes are done on the event loop's thread
 * (a page-cache hit costs microseconds, far less than a hop to the thread
 * pool); large ones and fdatasync go to the thread pool. With the native calls, trim
 * punches holes, zero deallocates or zeroes in place, extents come from
 * SEEK_DATA/SEEK_HOLE and cache is posix_fadvise WILLNEED. On Linux these are
 * offered before the calls are loaded; where they then cannot be, trim and
 * cache do nothing, zero is left to the server and extents are all data.
 * Elsewhere only reads, writes and flushes are offered and the server
 * emulates the rest.
 */
export class FileHandle implements PluginHandle {
  protected readonly fd: number;
  private readonly natives: NativeCalls;
  private zeroMethods: ZeroMethods | undefined;
  /** Whether SEEK_HOLE works on this file, once a block status request asked. */
  private seeksHoles: boolean | undefined;
  private readonly device: BlockDeviceInfo | undefined;

  constructor(
    private readonly file: OpenedFile,
    private readonly options: HandleOptions,
  ) {
    this.fd = file.fd;
    this.natives = options.natives;
    this.device = file.blockDevice ? blockDeviceInfo(file.rdev) : undefined;
    if (options.advice === Advice.NORMAL) return;
    // The calls were loaded by the plugin's ready for fadvise=.
    void this.natives.with((native) => {
      const error = native?.fadvise(file.fd, 0, 0, options.advice);
      if (error !== undefined) options.log.debug(`posix_fadvise: ${error} (ignored)`);
    });
  }

  private zeroes(native: NativeFileOps): ZeroMethods {
    const { file, options } = this;
    return (this.zeroMethods ??= new ZeroMethods(native, file.fd, file.blockDevice, this.device?.logicalBlockSize ?? 4096, options.log, options.debugZero));
  }

  /** fstat reports 0 for a block device: ask the device. */
  private deviceSize(native: NativeFileOps | undefined): bigint {
    const end = native?.seekEnd(this.fd);
    if (typeof end === 'number') return BigInt(end);
    const size = this.device?.size;
    if (size === undefined) throw nbdError('EIO', `cannot find the size of the block device${end === undefined ? '' : `: lseek: ${end}`}`);
    return size;
  }

  capabilities(): MaybePromise<PluginCapabilities> {
    if (this.file.blockDevice) return this.natives.with((native) => this.withSize(this.deviceSize(native)));
    return this.withSize(fstatSync(this.fd, { bigint: true }).size);
  }

  private withSize(size: bigint): PluginCapabilities {
    return {
      size,
      canWrite: this.file.writable,
      canFlush: true,
      canFua: 'native',
      canMultiConn: true,
      canTrim: NATIVE_PLATFORM,
      canZero: NATIVE_PLATFORM ? 'native' : 'emulate',
      // Natively, zero fails at once with ENOTSUP when only slow ways are left; emulated, the server does.
      canFastZero: true,
      canExtents: NATIVE_PLATFORM,
      canCache: NATIVE_PLATFORM ? 'native' : 'emulate',
      isRotational: this.device?.rotational ?? false,
      blockSize: this.device === undefined ? undefined : deviceBlockSize(this.device),
    };
  }

  pread(buf: Uint8Array, offset: bigint): void | Promise<void> {
    const at = toSafeNumber(offset, 'offset');
    if (buf.length >= READ_ON_POOL_FROM) return readOnPool(this.fd, buf, at);
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, at + done);
      if (n === 0) throw nbdError('EIO', `read at ${at + done}: unexpected end of file`);
      done += n;
    }
  }

  /**
   * A large read: the server sends the bytes from the file to the socket
   * (sendfile), with no copy through memory. Not past the end of a file that
   * has shrunk since it was opened: pread answers that read with EIO, where
   * a reply cut short would cost the client its connection.
   */
  sendFrom(count: number, offset: bigint, _flags: Flags, send: SendFile): Promise<void> | undefined {
    if (!this.file.blockDevice && fstatSync(this.fd).size < Number(offset) + count) return undefined;
    return send(this.fd, offset);
  }

  pwrite(buf: Uint8Array, offset: bigint, flags: number): void | Promise<void> {
    // A number position: Node's writeSync ignores a bigint one and writes at the file position.
    const at = toSafeNumber(offset, 'offset');
    if (buf.length >= WRITE_ON_POOL_FROM) {
      const written = writeOnPool(this.fd, buf, at);
      return flags & Flag.FUA ? written.then(() => datasync(this.fd)) : written;
    }
    let done = 0;
    while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done, at + done);
    if (flags & Flag.FUA) return datasync(this.fd);
  }

  flush(): Promise<void> {
    return datasync(this.fd);
  }

  trim(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    const at = toSafeNumber(offset, 'offset');
    return this.natives.with((native) => {
      if (native !== undefined) this.zeroes(native).trim(at, count);
      if (flags & Flag.FUA) return datasync(this.fd);
    });
  }

  zero(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    const at = toSafeNumber(offset, 'offset');
    return this.natives.with((native) => {
      if (native === undefined || !this.zeroes(native).zero(at, count, flags)) {
        // The server writes zeroes instead, or fails a FAST_ZERO request with ENOTSUP.
        throw nbdError('ENOTSUP', 'zero: no way to zero this file without writing zeroes');
      }
      if (flags & Flag.FUA) return datasync(this.fd);
    });
  }

  extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): MaybePromise<void> {
    const at = toSafeNumber(offset, 'offset');
    return this.natives.with((native) => {
      // Some file systems and block devices refuse SEEK_HOLE (EINVAL): then all is data.
      if (native === undefined || !(this.seeksHoles ??= canSeekHoles(native, this.fd))) extents.add(offset, BigInt(count), ExtentType.DATA);
      else seekExtents(native, this.fd, count, at, flags, extents);
    });
  }

  cache(count: number, offset: bigint): MaybePromise<void> {
    const at = toSafeNumber(offset, 'offset');
    return this.natives.with((native) => {
      const error = native?.fadvise(this.fd, at, count, Advice.WILLNEED);
      if (error !== undefined) throw nbdError(error, `cache: posix_fadvise(WILLNEED) at ${offset} for ${count} bytes: ${error}`);
    });
  }

  close(): void | Promise<void> {
    if (this.file.owned) closeSync(this.fd);
  }
}

/**
 * `cache=none`: a {@link FileHandle} that keeps the pages it reads and
 * writes out of the page cache, so that copying a large image does not evict
 * everything else the host caches.
 */
export class UncachedFileHandle extends FileHandle {
  private readonly evictor: PageCacheEvictor;

  constructor(file: OpenedFile, options: HandleOptions, native: NativeFileOps) {
    super(file, options);
    this.evictor = new PageCacheEvictor(native, file.fd);
  }

  override pread(buf: Uint8Array, offset: bigint): void | Promise<void> {
    const read = super.pread(buf, offset);
    if (read === undefined) this.evictor.afterRead(Number(offset), buf.length);
    else return read.then(() => this.evictor.afterRead(Number(offset), buf.length));
  }

  /**
   * Reads are not sent from the file: the pages sendfile hands the socket
   * stay pinned until the client has acknowledged them, past any attempt to
   * drop them, so they would stay in the page cache. pread copies them out.
   */
  override sendFrom(): undefined {
    return undefined;
  }

  override pwrite(buf: Uint8Array, offset: bigint, flags: number): void | Promise<void> {
    const written = super.pwrite(buf, offset, flags);
    if (written === undefined) return this.evictor.afterWrite(Number(offset), buf.length);
    return written.then(() => this.evictor.afterWrite(Number(offset), buf.length));
  }

  override async close(): Promise<void> {
    await this.evictor.close();
    await super.close();
  }
}
