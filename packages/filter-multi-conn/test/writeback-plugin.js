/**
 * A test plugin with a private cache per connection, as a caching layer or a
 * remote source keeps: reads fill it, writes stay in it, and only a flush
 * writes the connection's changes back to the store that other connections
 * read from, and empties its cache. Unflushed writes are lost when the
 * connection closes. So it does not offer multi-conn. The store is sparse:
 * blocks never written read as zeroes and are reported as holes.
 *
 * It takes one request at a time per connection (serialize-requests), and
 * fails any call that overlaps another call on the same connection or comes
 * after close, so a filter that breaks those promises is caught.
 *
 * Parameters:
 *   size=SIZE        size of every export (default 1M); any export name is served
 *   events=PATH      appends "EVENT<TAB>EXPORT<TAB>ID" for each open, flush and close
 *   fail-flush=NAME  flushes of the contexts of export NAME fail with EIO
 *   can-flush=false  say that it cannot flush (so nothing ever reaches the store)
 */
import { appendFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { API_VERSION, definePlugin, ExtentType, nbdError, parseBool, parseSize, toSafeNumber } from '@nbdkit-ts/core';
/** @import { ExtentList, Flags, PluginHandle } from '@nbdkit-ts/core' */

/**
 * The plugin's parameters.
 * @typedef {object} Options
 * @property {bigint} size size of every export
 * @property {string | undefined} events file to append events to
 * @property {string | undefined} failFlush export name whose flushes fail
 * @property {boolean} canFlush whether it says that it can flush
 */

/**
 * Block number -> block.
 * @typedef {Map<number, Uint8Array>} Blocks
 */

const BLOCK = 4096;

/** @implements {PluginHandle} */
class CachingHandle {
  /**
   * Block number -> this connection's copy of the block.
   * @type {Blocks}
   */
  blocks = new Map();
  /**
   * Blocks written since the last flush.
   * @type {Set<number>}
   */
  dirty = new Set();
  busy = false;
  closed = false;

  /**
   * @param {Blocks} store block number -> block, shared by the connections of one export
   * @param {number} size size of the export in bytes
   * @param {string} exportName
   * @param {number} id number of the connection, for the events
   * @param {Options} options
   */
  constructor(store, size, exportName, id, options) {
    this.store = store;
    this.size = size;
    this.exportName = exportName;
    this.id = id;
    this.options = options;
  }

  /** @param {string} name */
  event(name) {
    if (this.options.events !== undefined) appendFileSync(this.options.events, `${name}\t${this.exportName}\t${this.id}\n`);
  }

  /**
   * Runs `body` as the only call on this connection, after a turn of the event loop in which another call could overlap.
   * @template T
   * @param {string} what
   * @param {() => T} body
   * @returns {Promise<T>}
   */
  async exclusive(what, body) {
    if (this.closed) throw nbdError('EIO', `${what} on connection ${this.id} after close`);
    if (this.busy) throw nbdError('EIO', `${what} overlaps another call on connection ${this.id}`);
    this.busy = true;
    try {
      await nextTurn();
      // close() may have run during the wait.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      if (this.closed) throw nbdError('EIO', `connection ${this.id} was closed during ${what}`);
      return body();
    } finally {
      this.busy = false;
    }
  }

  /** @param {number} n */
  block(n) {
    let b = this.blocks.get(n);
    if (b === undefined) {
      const stored = this.store.get(n);
      b = stored === undefined ? new Uint8Array(Math.min(BLOCK, this.size - n * BLOCK)) : stored.slice();
      this.blocks.set(n, b);
    }
    return b;
  }

  /**
   * Calls `each(block, blockNumber, offsetInBlock, offsetInBuffer, length)` over a range.
   * @param {bigint} offset
   * @param {number} length
   * @param {(block: Uint8Array, n: number, within: number, done: number, len: number) => void} each
   */
  span(offset, length, each) {
    let at = toSafeNumber(offset, 'offset');
    let done = 0;
    while (done < length) {
      const n = Math.floor(at / BLOCK);
      const within = at % BLOCK;
      const len = Math.min(BLOCK - within, length - done);
      each(this.block(n), n, within, done, len);
      at += len;
      done += len;
    }
  }

  capabilities() {
    return { size: BigInt(this.size), canFlush: this.options.canFlush };
  }

  /** @param {Uint8Array} buf @param {bigint} offset */
  pread(buf, offset) {
    return this.exclusive('pread', () => this.span(offset, buf.length, (b, _n, within, done, len) => buf.set(b.subarray(within, within + len), done)));
  }

  /** @param {Uint8Array} buf @param {bigint} offset */
  pwrite(buf, offset) {
    return this.exclusive('pwrite', () =>
      this.span(offset, buf.length, (b, n, within, done, len) => {
        b.set(buf.subarray(done, done + len), within);
        this.dirty.add(n);
      }),
    );
  }

  /**
   * Blocks this connection has seen or the store holds are data; the others are holes.
   * @param {number} count
   * @param {bigint} offset
   * @param {Flags} _flags
   * @param {ExtentList} extents
   */
  extents(count, offset, _flags, extents) {
    return this.exclusive('extents', () => {
      const first = Math.floor(toSafeNumber(offset, 'offset') / BLOCK);
      const end = toSafeNumber(offset + BigInt(count), 'offset');
      for (let n = first; n * BLOCK < end; n++) {
        const known = this.blocks.has(n) || this.store.has(n);
        const at = n * BLOCK;
        extents.add(BigInt(at), BigInt(Math.min(BLOCK, this.size - at)), known ? ExtentType.DATA : ExtentType.HOLE | ExtentType.ZERO);
      }
    });
  }

  flush() {
    return this.exclusive('flush', () => {
      this.event('flush');
      if (this.exportName === this.options.failFlush) throw nbdError('EIO', `flush of export "${this.exportName}" fails (fail-flush)`);
      for (const n of this.dirty) this.store.set(n, this.block(n));
      this.dirty.clear();
      this.blocks.clear();
    });
  }

  close() {
    this.closed = true;
    this.event('close');
  }
}

export default definePlugin(() => {
  /** @type {Options} */
  const options = { size: 1n << 20n, events: undefined, failFlush: undefined, canFlush: true };
  /** @type {Map<string, Blocks>} */
  const stores = new Map();
  let lastId = 0;
  return {
    apiVersion: API_VERSION,
    name: 'writeback',
    description: 'test plugin: a private write-back cache per connection',
    concurrency: 'serialize-requests',
    params: [
      { name: 'size', description: 'size of every export' },
      { name: 'events', description: 'file to append open, flush and close events to' },
      { name: 'fail-flush', description: 'export name whose flushes fail' },
      { name: 'can-flush', description: 'false: say that it cannot flush' },
    ],
    config(key, value) {
      if (key === 'size') options.size = parseSize(key, value);
      else if (key === 'events') options.events = value;
      else if (key === 'fail-flush') options.failFlush = value;
      else options.canFlush = parseBool(key, value);
    },
    open({ exportName }) {
      let store = stores.get(exportName);
      if (store === undefined) {
        store = new Map();
        stores.set(exportName, store);
      }
      const handle = new CachingHandle(store, toSafeNumber(options.size, 'size'), exportName, ++lastId, options);
      handle.event('open');
      return handle;
    },
  };
});
