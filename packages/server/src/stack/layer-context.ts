import {
  ExtentList,
  Flag,
  errnoCodeOf,
  errorCode,
  isPromise,
  nbdError,
  type Capabilities,
  type Flags,
  type Handle,
  type MaybePromise,
  type Next,
  type SendFile,
} from '@nbdkit-ts/core';
import type { LoadedLayer } from './loaded-layer.js';
import type { Scope } from './scope.js';
import { MAX_REQUEST_SIZE } from '../protocol/constants.js';

/** Largest buffer used when the server emulates zero (by writing). */
const EMULATION_CHUNK = 1024 * 1024;
/**
 * Largest read when the server emulates cache (by reading and discarding), as
 * nbdkit: the largest request, so a layer sees the reads a client's cache
 * would have made. One buffer for every context: what it holds is never used.
 */
const CACHE_CHUNK = MAX_REQUEST_SIZE;
let zeroes: Uint8Array | undefined;
let sink: Uint8Array | undefined;

/**
 * What a layer threw or rejected with, as the server passes it on. An error
 * with an errno-style code is the layer's answer and goes on unchanged.
 * Anything else (a TypeError, a bare Error, a string, undefined) is a fault
 * of the layer: it is logged naming the layer and becomes an EIO error whose
 * message names the layer and the call. Layers above see a coded error, so
 * a fault is logged once, by the layer it came from.
 */
export function layerFault(layer: LoadedLayer, call: string, e: unknown, connectionId?: number): unknown {
  if (errnoCodeOf(e) !== undefined) return e;
  const what = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : `threw ${describeValue(e)}`;
  layer.logFor(connectionId).error(`${call}: ${what}`);
  return nbdError('EIO', `${layer.name}: ${call}: ${what}`, e);
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 200 ? v.slice(0, 200) + '...' : v);
  if (typeof v === 'object' && v !== null) return 'a non-Error object';
  return String(v);
}

/** The layer-level view of what a filter associates below it. */
export interface Associated {
  readonly next: LayerContext | undefined;
}

/**
 * An open context on one layer: the server's implementation of Next. Every
 * call is checked here, once per layer (closed, range, flags against the
 * cached capabilities, read-only); calls the layer lacks are emulated
 * (plugins: zero by writes, FUA by flush; every layer: cache by reads,
 * extents as all data) or, for filters, passed to the associated Next.
 */
export class LayerContext implements Next {
  capabilities!: Capabilities;
  closed = false;
  /** Set once the layer's prepare succeeded: only then does finalize run. */
  prepared = false;
  private finalized = false;

  constructor(
    readonly layer: LoadedLayer,
    readonly exportName: string,
    readonly readonly: boolean,
    readonly scope: Scope,
    private readonly handle: Handle,
    /** For a filter: where its associated Next lives. */
    private readonly associated: Associated | undefined,
  ) {
    layer.census.open++;
    scope.open.add(this);
  }

  pread(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.guard('pread', () => this.preadCall(buf, offset, flags));
  }

  pwrite(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.guard('pwrite', () => this.pwriteCall(buf, offset, flags));
  }

  flush(flags: Flags): MaybePromise<void> {
    return this.guard('flush', () => this.flushCall(flags));
  }

  trim(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.guard('trim', () => this.trimCall(count, offset, flags));
  }

  zero(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.guard('zero', () => this.zeroCall(count, offset, flags));
  }

  extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): MaybePromise<void> {
    return this.guard('extents', () => this.extentsCall(count, offset, flags, extents));
  }

  cache(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.guard('cache', () => this.cacheCall(count, offset, flags));
  }

  /**
   * Offers a read to be sent from a file: the layer calls `send`, or returns
   * without calling it and the caller reads with pread. Passed through a
   * filter only when the filter has no pread of its own.
   */
  sendFrom(count: number, offset: bigint, flags: Flags, send: SendFile): MaybePromise<void> {
    return this.guard('sendFrom', () => this.sendFromCall(count, offset, flags, send));
  }

  /**
   * Runs one data call: what it throws, and what its promise rejects with,
   * goes through {@link fault}. Anything but a promise gives undefined (a
   * layer returning a value from a void call is not waited for).
   */
  private guard(call: string, run: () => MaybePromise<void>): MaybePromise<void> {
    let r: MaybePromise<void>;
    try {
      r = run();
    } catch (e) {
      throw this.fault(call, e);
    }
    if (!isPromise(r)) return undefined;
    return Promise.resolve(r).then(undefined, (e: unknown) => {
      throw this.fault(call, e);
    });
  }

  /** See {@link layerFault}. */
  private fault(call: string, e: unknown): unknown {
    return layerFault(this.layer, call, e, this.scope.connectionId);
  }

  private get isPlugin(): boolean {
    return this.associated === undefined;
  }

  /** The Next a filter's missing calls go to. */
  private below(call: string): LayerContext {
    const next = this.associated?.next;
    if (next === undefined) throw nbdError('EIO', `${this.layer.name}: ${call}: no context is associated below this filter`);
    return next;
  }

  private check(offset: bigint, count: number, overflowCode: 'EINVAL' | 'ENOSPC'): void {
    if (this.closed) throw nbdError('EIO', `${this.layer.name}: context is closed`);
    if (count <= 0) throw nbdError('EINVAL', `${this.layer.name}: count is 0`);
    if (offset < 0n || offset + BigInt(count) > this.capabilities.size) {
      throw nbdError(overflowCode, `${this.layer.name}: request at ${offset} for ${count} bytes is beyond the end (${this.capabilities.size})`);
    }
  }

  private checkWrite(flags: Flags): void {
    if (this.closed) throw nbdError('EIO', `${this.layer.name}: context is closed`);
    if (!this.capabilities.canWrite) throw nbdError('EROFS', `${this.layer.name}: read-only`);
    if (flags & Flag.FUA && this.capabilities.canFua === 'none') throw nbdError('EINVAL', `${this.layer.name}: FUA is not supported`);
  }

  private preadCall(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    this.check(offset, buf.length, 'EINVAL');
    const h = this.handle;
    if (h.pread !== undefined) return h.pread(buf, offset, flags);
    if (this.isPlugin) throw nbdError('EIO', `${this.layer.name}: pread is not implemented`);
    return this.below('pread').pread(buf, offset, flags);
  }

  private sendFromCall(count: number, offset: bigint, flags: Flags, send: SendFile): MaybePromise<void> {
    this.check(offset, count, 'EINVAL');
    const h = this.handle;
    if (h.sendFrom !== undefined) return h.sendFrom(count, offset, flags, send);
    if (this.isPlugin || h.pread !== undefined) return undefined;
    return this.below('sendFrom').sendFrom(count, offset, flags, send);
  }

  private pwriteCall(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    this.checkWrite(flags);
    this.check(offset, buf.length, 'ENOSPC');
    const h = this.handle;
    if (h.pwrite === undefined) return this.below('pwrite').pwrite(buf, offset, flags);
    if (flags & Flag.FUA && this.isPlugin && this.capabilities.canFua === 'emulate') {
      return this.thenFlush(h.pwrite(buf, offset, flags & ~Flag.FUA));
    }
    return h.pwrite(buf, offset, flags);
  }

  private flushCall(flags: Flags): MaybePromise<void> {
    if (this.closed) throw nbdError('EIO', `${this.layer.name}: context is closed`);
    if (!this.capabilities.canFlush) throw nbdError('EINVAL', `${this.layer.name}: flush is not supported`);
    const h = this.handle;
    if (h.flush !== undefined) return h.flush(flags);
    return this.below('flush').flush(flags);
  }

  private trimCall(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    this.checkWrite(flags);
    this.check(offset, count, 'EINVAL');
    if (!this.capabilities.canTrim) throw nbdError('EINVAL', `${this.layer.name}: trim is not supported`);
    const h = this.handle;
    if (h.trim === undefined) return this.below('trim').trim(count, offset, flags);
    if (flags & Flag.FUA && this.isPlugin && this.capabilities.canFua === 'emulate') {
      return this.thenFlush(h.trim(count, offset, flags & ~Flag.FUA));
    }
    return h.trim(count, offset, flags);
  }

  private zeroCall(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    this.checkWrite(flags);
    this.check(offset, count, 'ENOSPC');
    const caps = this.capabilities;
    if (caps.canZero === 'none') throw nbdError('EINVAL', `${this.layer.name}: zero is not supported`);
    if (flags & Flag.FAST_ZERO && !caps.canFastZero) throw nbdError('EINVAL', `${this.layer.name}: fast zero is not supported`);
    const h = this.handle;
    if (!this.isPlugin) {
      if (h.zero !== undefined) return h.zero(count, offset, flags);
      return this.below('zero').zero(count, offset, flags);
    }
    return this.pluginZero(count, offset, flags);
  }

  private async pluginZero(count: number, offset: bigint, flags: Flags): Promise<void> {
    const h = this.handle;
    const fua = (flags & Flag.FUA) !== 0 && this.capabilities.canFua === 'emulate';
    const callFlags = fua ? flags & ~Flag.FUA : flags;
    let done = false;
    if (h.zero !== undefined && this.capabilities.canZero === 'native') {
      try {
        await h.zero(count, offset, callFlags);
        done = true;
      } catch (e) {
        const code = errorCode(e);
        if ((code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') || flags & Flag.FAST_ZERO) throw e;
      }
    }
    if (!done) {
      if (flags & Flag.FAST_ZERO) throw nbdError('ENOTSUP', `${this.layer.name}: zeroing would be slow`);
      await this.writeZeroes(count, offset, callFlags & ~(Flag.MAY_TRIM | Flag.FAST_ZERO));
    }
    if (fua) await this.flushHandle();
  }

  private async writeZeroes(count: number, offset: bigint, flags: Flags): Promise<void> {
    const pwrite = this.handle.pwrite;
    if (pwrite === undefined) throw nbdError('EIO', `${this.layer.name}: cannot emulate zero without pwrite`);
    zeroes ??= new Uint8Array(EMULATION_CHUNK);
    while (count > 0) {
      const n = Math.min(count, EMULATION_CHUNK);
      await pwrite.call(this.handle, zeroes.subarray(0, n), offset, flags);
      count -= n;
      offset += BigInt(n);
    }
  }

  private extentsCall(count: number, offset: bigint, flags: Flags, extents: ExtentList): MaybePromise<void> {
    this.check(offset, count, 'EINVAL');
    if (!this.capabilities.canExtents) {
      extents.add(offset, BigInt(count), 0);
      return;
    }
    const h = this.handle;
    if (h.extents !== undefined) return h.extents(count, offset, flags, extents);
    if (this.isPlugin) {
      extents.add(offset, BigInt(count), 0);
      return;
    }
    return this.below('extents').extents(count, offset, flags, extents);
  }

  private cacheCall(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    this.check(offset, count, 'EINVAL');
    const support = this.capabilities.canCache;
    if (support === 'none') throw nbdError('EINVAL', `${this.layer.name}: cache is not supported`);
    if (support === 'emulate') return this.readAndDiscard(count, offset);
    const h = this.handle;
    if (h.cache !== undefined) return h.cache(count, offset, flags);
    if (this.isPlugin) throw nbdError('EIO', `${this.layer.name}: cache is not implemented`);
    return this.below('cache').cache(count, offset, flags);
  }

  private async readAndDiscard(count: number, offset: bigint): Promise<void> {
    sink ??= new Uint8Array(CACHE_CHUNK);
    while (count > 0) {
      const n = Math.min(count, CACHE_CHUNK);
      await this.pread(sink.subarray(0, n), offset, 0);
      count -= n;
      offset += BigInt(n);
    }
  }

  private async thenFlush(call: MaybePromise<void>): Promise<void> {
    await call;
    await this.flushHandle();
  }

  private async flushHandle(): Promise<void> {
    const flush = this.handle.flush;
    if (flush === undefined) throw nbdError('EIO', `${this.layer.name}: cannot emulate FUA without flush`);
    await flush.call(this.handle, 0);
  }

  /** Runs finalize on this layer (if it was prepared), then on the associated Next below. */
  async finalize(): Promise<void> {
    if (this.finalized) return;
    this.finalized = true;
    try {
      if (this.prepared) await this.handle.finalize?.();
    } catch (e) {
      throw this.fault('finalize', e);
    } finally {
      await this.associated?.next?.finalize();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const errors: unknown[] = [];
    try {
      await this.finalize();
    } catch (e) {
      errors.push(e);
    }
    this.closed = true;
    this.scope.open.delete(this);
    this.layer.census.open--;
    try {
      await this.handle.close?.();
    } catch (e) {
      errors.push(this.fault('close', e));
    }
    try {
      await this.associated?.next?.close();
    } catch (e) {
      errors.push(e);
    }
    if (errors.length > 0) throw errors[0];
  }
}
