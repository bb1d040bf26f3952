import { Flag, nbdError, type Flags, type Logger } from '@nbdkit-ts/core';
import { Fallocate, type NativeFileOps } from './native.js';

/** Errors that mean "this call does not work on this file", not "this request failed". */
const UNSUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP', 'ENODEV', 'ENOTTY']);

const PUNCH = Fallocate.PUNCH_HOLE | Fallocate.KEEP_SIZE;
const ZERO_RANGE = Fallocate.ZERO_RANGE | Fallocate.KEEP_SIZE;

/**
 * The ways to zero and trim one open file without writing zeroes, tried in
 * order; a way that fails as unsupported is switched off for this file.
 *
 * zero: with MAY_TRIM, punch a hole; else fallocate ZERO_RANGE; else (a
 * regular file) punch a hole and allocate it again; else (a block device,
 * sector-aligned) BLKZEROOUT. ZERO_RANGE and BLKZEROOUT on a block device may
 * make the kernel write zeroes, so FAST_ZERO skips them.
 */
export class ZeroMethods {
  private canPunch = true;
  private canZeroRange = true;
  private canAllocate: boolean;
  private canZeroOut: boolean;

  constructor(
    private readonly native: NativeFileOps,
    private readonly fd: number,
    private readonly blockDevice: boolean,
    /** BLKZEROOUT wants offset and length in whole sectors. */
    private readonly sectorSize: number,
    private readonly log: Logger,
    /** `-D file.zero=1`: log the method used for every request. */
    private readonly debug: boolean,
  ) {
    this.canAllocate = !blockDevice;
    this.canZeroOut = blockDevice;
  }

  /** Whether a hole can still be punched (trim). */
  get canTrim(): boolean {
    return this.canPunch;
  }

  /**
   * Makes the range read as zeroes. Returns false when no way is left (the
   * caller then writes zeroes, or fails a FAST_ZERO request); throws when a
   * way fails for another reason than lack of support.
   */
  zero(offset: number, count: number, flags: Flags): boolean {
    const fast = (flags & Flag.FAST_ZERO) !== 0;
    const done = (method: string) => {
      if (this.debug) this.log.debug(`zero: ${count} bytes at ${offset}: ${method}`);
      return true;
    };
    if (flags & Flag.MAY_TRIM && this.canPunch) {
      if (this.ok('punch hole', this.fallocate(PUNCH, offset, count), offset, count)) return done('punch hole');
      this.canPunch = false;
    }
    if (this.canZeroRange && !(fast && this.blockDevice)) {
      if (this.ok('ZERO_RANGE', this.fallocate(ZERO_RANGE, offset, count), offset, count)) return done('ZERO_RANGE');
      this.canZeroRange = false;
    }
    if (this.canPunch && this.canAllocate) {
      if (!this.ok('punch hole', this.fallocate(PUNCH, offset, count), offset, count)) this.canPunch = false;
      else if (this.ok('allocate', this.fallocate(Fallocate.ALLOCATE, offset, count), offset, count)) return done('punch hole, then allocate');
      else this.canAllocate = false;
    }
    if (this.canZeroOut && !fast && offset % this.sectorSize === 0 && count % this.sectorSize === 0) {
      if (this.ok('BLKZEROOUT', this.native.zeroOut(this.fd, offset, count), offset, count)) return done('BLKZEROOUT');
      this.canZeroOut = false;
    }
    if (this.debug) {
      this.log.debug(`zero: ${count} bytes at ${offset}: no efficient method left, ${fast ? 'failing the fast zero' : 'falling back to writing zeroes'}`);
    }
    return false;
  }

  /**
   * Punches a hole. Trim is advice: only EIO and EPERM are reported, other
   * failures are logged and ignored.
   */
  trim(offset: number, count: number): void {
    if (!this.canPunch) return;
    const error = this.fallocate(PUNCH, offset, count);
    if (error === undefined) return;
    if (error === 'EIO' || error === 'EPERM') throw nbdError(error, `trim: fallocate(PUNCH_HOLE) at ${offset} for ${count} bytes: ${error}`);
    if (UNSUPPORTED.has(error)) this.canPunch = false;
    this.log.debug(`trim: fallocate(PUNCH_HOLE) at ${offset} for ${count} bytes: ${error} (ignored)`);
  }

  private fallocate(mode: number, offset: number, count: number): string | undefined {
    return this.native.fallocate(this.fd, mode, offset, count);
  }

  /** True when `error` is undefined, false when the method is unsupported here; throws otherwise. */
  private ok(method: string, error: string | undefined, offset: number, count: number): boolean {
    if (error === undefined) return true;
    if (!UNSUPPORTED.has(error)) throw nbdError(error, `zero: ${method} at ${offset} for ${count} bytes: ${error}`);
    if (this.debug) this.log.debug(`zero: ${method} is not supported here (${error}), switched off`);
    return false;
  }
}
