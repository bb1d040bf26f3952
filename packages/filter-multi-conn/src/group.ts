import type { MaybePromise } from '@nbdkit-ts/core';
import { Mutex } from '@nbdkit-ts/core';
import type { TrackDirty } from './settings.js';

/** Dirty bits of a member: a read may have filled a cache of its context. */
export const READ = 1;
/** Dirty bits of a member: a write may sit in a cache of its context. */
export const WRITE = 2;

/** A context of the filter, as its group sees it. */
export interface Member {
  /** {@link READ} and {@link WRITE} bits since the member's context was last flushed. */
  dirty: number;
  /** Flushes the member's context on the layer beneath. */
  flushBelow(flags: number): MaybePromise<void>;
}

/**
 * The contexts whose flushes must be made consistent with one another: every
 * context of the filter, or those of one export name.
 */
export class Group {
  readonly members = new Set<Member>();
  /** Whether a write happened in the group since the last flush that covered it. */
  dirty = false;
  private readonly mutex = new Mutex();

  constructor(readonly key: string) {}

  /**
   * Runs a section that reads and clears dirty state and flushes members,
   * one at a time per group: a flush never returns while another one that
   * cleared the state it relies on is still running, and a member leaving
   * waits for the flushes that may still use its context.
   */
  exclusive<T>(section: () => MaybePromise<T>): Promise<T> {
    return this.mutex.run(section);
  }

  /**
   * Clears the dirty bits of `members` (and the group's when `group` is
   * true), then runs `flush`. Marks made while it runs are kept; if it
   * fails, the cleared bits are put back.
   */
  async clearing(members: readonly Member[], group: boolean, flush: () => MaybePromise<void>): Promise<void> {
    const saved = members.map((m) => m.dirty);
    const groupWasDirty = this.dirty;
    for (const m of members) m.dirty = 0;
    if (group) this.dirty = false;
    try {
      await flush();
    } catch (e) {
      members.forEach((m, i) => (m.dirty |= saved[i] ?? 0));
      if (group) this.dirty ||= groupWasDirty;
      throw e;
    }
  }

  /**
   * The emulated multi-conn flush: flushes, in parallel, every member whose
   * context may hold what the flush must cover (per `track`), then marks the
   * group clean. Throws the first error of any member's flush. Call it
   * inside {@link exclusive}.
   */
  async flushMembers(track: TrackDirty, flags: number): Promise<number> {
    const chosen = [...this.members].filter((m) => needsFlush(m, this.dirty, track));
    await this.clearing([], true, async () => {
      const results = await Promise.allSettled(chosen.map((m) => this.clearing([m], false, () => m.flushBelow(flags))));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    });
    return chosen.length;
  }
}

/**
 * Whether an emulated flush must flush a member: always without tracking;
 * with `fast`, every member when the group is dirty; with `connection`, a
 * member that wrote, or that read while the group is dirty (its cache may
 * hold data another member changed).
 */
function needsFlush(m: Member, groupDirty: boolean, track: TrackDirty): boolean {
  switch (track) {
    case 'off':
      return true;
    case 'fast':
      return groupDirty;
    case 'connection':
      return (m.dirty & WRITE) !== 0 || (groupDirty && (m.dirty & READ) !== 0);
  }
}

/** The groups of one filter instance, created on first join and dropped when empty. */
export class Registry {
  private readonly groups = new Map<string, Group>();

  /** Adds `member` to the group of `key`. */
  join(key: string, member: Member): Group {
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new Group(key);
      this.groups.set(key, group);
    }
    group.members.add(member);
    return group;
  }

  /** Removes `member` at once: flushes that start later no longer see it. */
  leave(group: Group, member: Member): void {
    group.members.delete(member);
    if (group.members.size === 0 && this.groups.get(group.key) === group) this.groups.delete(group.key);
  }
}
