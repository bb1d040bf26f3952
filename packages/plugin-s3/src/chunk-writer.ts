import type { Layout } from './layout.js';
import type { ObjectStore } from './object-store.js';

/** One change to a chunk: `data` written at `within`, or `length` zero bytes there. */
interface Change {
  readonly within: number;
  readonly length: number;
  readonly data: Uint8Array | undefined;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** The changes waiting for one chunk while a writer holds it. */
interface ChunkQueue {
  readonly index: bigint;
  readonly pending: Change[];
}

/**
 * Every chunk being written in this process, by store, bucket and object
 * key. One writer at a time per chunk, whichever connection or server the
 * change came from: this is the per-chunk lock that makes read-modify-write
 * safe.
 */
const queues = new Map<string, ChunkQueue>();

/** What is known of a chunk's stored contents while its writer holds it. */
type Known = Buffer | 'absent' | 'unknown';

function coversWhole(changes: readonly Change[], length: number): boolean {
  const spans = changes.map((c) => [c.within, c.within + c.length] as const).sort((a, b) => a[0] - b[0]);
  let reach = 0;
  for (const [from, to] of spans) {
    if (from > reach) return false;
    if (to > reach) reach = to;
  }
  return reach >= length;
}

/**
 * Writes to the chunks of one disk. Changes to a chunk queue behind the
 * one being stored and are then stored together: all changes that arrived
 * meanwhile are merged into one object, so a burst of small writes to a
 * chunk costs one read and a few PUTs, not one read-modify-write each.
 * Each change is settled only once the store acknowledged the object that
 * contains it.
 */
export class ChunkWriter {
  private readonly scope: string;

  constructor(
    private readonly store: ObjectStore,
    private readonly layout: Layout,
  ) {
    this.scope = `${store.endpoint}\0${store.bucket}\0`;
  }

  /** Writes `data` at `within` in chunk `index`, or zeroes when `data` is undefined. */
  change(index: bigint, within: number, length: number, data: Uint8Array | undefined): Promise<void> {
    const id = this.scope + this.layout.chunkKey(index);
    return new Promise((resolve, reject) => {
      let q = queues.get(id);
      if (q === undefined) {
        q = { index, pending: [] };
        queues.set(id, q);
        // Start after the requests already received have queued their changes too.
        const queue = q;
        setImmediate(() => void this.drain(id, queue));
      }
      q.pending.push({ within, length, data, resolve, reject });
    });
  }

  /** The chunks in `[first, last]` that have changes queued or being stored now. */
  busy(first: bigint, last: bigint): bigint[] {
    const found: bigint[] = [];
    for (const [id, q] of queues) {
      if (q.index >= first && q.index <= last && id === this.scope + this.layout.chunkKey(q.index)) found.push(q.index);
    }
    return found;
  }

  private async drain(id: string, q: ChunkQueue): Promise<void> {
    let known: Known = 'unknown';
    while (q.pending.length > 0) {
      const batch = q.pending.splice(0);
      try {
        known = await this.store1(q.index, batch, known);
        for (const c of batch) c.resolve();
      } catch (e) {
        known = 'unknown';
        for (const c of batch) c.reject(e);
      }
    }
    queues.delete(id);
  }

  /** Stores the chunk with `batch` applied in order; returns what the store now holds. */
  private async store1(index: bigint, batch: readonly Change[], known: Known): Promise<Known> {
    const key = this.layout.chunkKey(index);
    const length = this.layout.chunkLength(index);
    const whole = coversWhole(batch, length);
    const anyData = batch.some((c) => c.data !== undefined);
    if (whole && !anyData) {
      if (known !== 'absent') await this.store.delete(key);
      return 'absent';
    }
    const only = batch[0];
    if (whole && batch.length === 1 && only?.data !== undefined) {
      await this.store.put(key, only.data);
      return 'unknown';
    }
    let base: Buffer | 'absent';
    if (whole) base = Buffer.allocUnsafe(length);
    else if (known !== 'unknown') base = known;
    else {
      const read = Buffer.allocUnsafe(length);
      base = (await this.store.readRange(key, 0, read)) ? read : 'absent';
    }
    if (base === 'absent') {
      if (!anyData) return 'absent';
      base = Buffer.alloc(length);
    }
    for (const c of batch) {
      if (c.data === undefined) base.fill(0, c.within, c.within + c.length);
      else base.set(c.data, c.within);
    }
    await this.store.put(key, base);
    return base;
  }
}
