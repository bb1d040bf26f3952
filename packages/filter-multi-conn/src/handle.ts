import { afterCall, errorMessage, isPromise, Flag, type Capabilities, type ExtentList, type Context, type FilterHandle, type Flags, type MaybePromise, type Next } from '@nbdkit-ts/core';
import { READ, WRITE, type Group, type Member, type Registry } from './group.js';
import { advertised, resolveMode, type ResolvedMode } from './mode.js';
import type { Mutex } from '@nbdkit-ts/core';
import type { Settings } from './settings.js';

/**
 * One context of the filter: a member of its group from prepare to finalize.
 * Reads and writes mark it dirty; a flush is made consistent across the
 * group as the mode and tracking level say.
 */
export class MultiConnHandle implements FilterHandle, Member {
  dirty = 0;
  private mode: ResolvedMode = 'disable';
  private group: Group | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly registry: Registry,
    private readonly context: Context,
    private readonly next: Next,
    /**
     * Set when the layers beneath take one request at a time per context:
     * calls on this context, its own and the flushes other members send it,
     * then run one at a time.
     */
    private readonly lock: Mutex | undefined,
  ) {}

  /** Runs a call on the context beneath, after the calls before it when the layers beneath serialize requests. */
  private below<T>(call: () => MaybePromise<T>): MaybePromise<T> {
    return this.lock === undefined ? call() : this.lock.run(call);
  }

  prepare(): void {
    const { backend, log } = this.context;
    try {
      this.mode = resolveMode(this.settings.mode, this.next.capabilities, backend.concurrency, backend.name);
    } catch (e) {
      log.error(errorMessage(e));
      throw e;
    }
    const key = this.settings.byExportName ? this.context.exportName : '';
    this.group = this.registry.join(key, this);
    log.debug(`context joins the group of ${this.settings.byExportName ? `export "${key}"` : 'all exports'} in mode ${this.mode}`);
  }

  capabilities(below: Capabilities | undefined): Partial<Capabilities> {
    return advertised(this.mode, below ?? this.next.capabilities);
  }

  async finalize(): Promise<void> {
    const group = this.group;
    if (group === undefined) return;
    this.group = undefined;
    this.registry.leave(group, this);
    await group.exclusive(async () => {
      // Writes a client left unflushed still reach the layer beneath, so a
      // flush on another connection covers them even after this one closes.
      if (this.mode === 'emulate' && this.dirty & WRITE) await group.clearing([this], false, () => this.flushBelow(0));
    });
  }

  flushBelow(flags: Flags): MaybePromise<void> {
    return this.below(() => this.next.flush(flags));
  }

  private mark(bits: number): void {
    this.dirty |= bits;
    if (bits & WRITE && this.group !== undefined) this.group.dirty = true;
  }

  /**
   * Runs `call` beneath, then marks `bits` however it ended: synchronously
   * when the layer beneath answered synchronously, so such a request costs
   * no promise here either.
   */
  private marking(bits: number, call: () => MaybePromise<void>): MaybePromise<void> {
    return afterCall(
      () => this.below(call),
      () => this.mark(bits),
    );
  }

  pread(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.marking(READ, () => this.next.pread(buf, offset, flags));
  }

  cache(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.marking(READ, () => this.next.cache(count, offset, flags));
  }

  /** Not a read that fills a cache: passes through, in turn with the other calls when requests are serialized. */
  extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): MaybePromise<void> {
    return this.below(() => this.next.extents(count, offset, flags, extents));
  }

  pwrite(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.write(flags, (f) => this.next.pwrite(buf, offset, f));
  }

  trim(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.write(flags, (f) => this.next.trim(count, offset, f));
  }

  zero(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.write(flags, (f) => this.next.zero(count, offset, f));
  }

  /**
   * A write, trim or zero. In emulate mode FUA becomes the call without FUA
   * followed by a flush of the group. Otherwise a FUA call passes through
   * and leaves nothing to flush. The dirty bits are set once the call has
   * ended, so a flush running meanwhile cannot clear them too early.
   */
  private write(flags: Flags, call: (flags: Flags) => MaybePromise<void>): MaybePromise<void> {
    const fua = (flags & Flag.FUA) !== 0;
    const emulateFua = fua && this.mode === 'emulate';
    const written = this.marking(emulateFua || !fua ? WRITE : 0, () => call(emulateFua ? flags & ~Flag.FUA : flags));
    if (!emulateFua) return written;
    return isPromise(written) ? written.then(() => this.flush(0)) : this.flush(0);
  }

  async flush(flags: Flags): Promise<void> {
    const group = this.group;
    if (group === undefined) {
      await this.flushBelow(flags);
      return;
    }
    const track = this.settings.trackDirty;
    if (this.mode === 'emulate') {
      const flushed = await group.exclusive(() => group.flushMembers(track, flags));
      this.context.log.debug(`flush: flushed ${flushed} of ${group.members.size} contexts`);
      return;
    }
    if (track === 'off') {
      await this.flushBelow(flags);
      return;
    }
    await group.exclusive(async () => {
      if (!group.dirty) return;
      // After a flush of a multi-conn context every member is clean; otherwise
      // only this one, and with `connection` the group stays dirty.
      const everyone = this.next.capabilities.canMultiConn;
      const members = track === 'fast' ? [] : everyone ? [...group.members] : [this];
      await group.clearing(members, track === 'fast' || everyone, () => this.flushBelow(flags));
    });
  }
}
