// The stores against a flat buffer: the same random writes, zeroes and reads, and block
// status that reports as holes exactly the pages that hold nothing.
import { ExtentList, ExtentType, Flag } from '@nbdkit-ts/core';
import { seededRandom } from '@nbdkit-ts/testing';
import { describe, expect, it } from 'vitest';
import { createStore, type Allocator } from '../src/index.js';

const SIZE = 3 * 128 * 1024 * 1024 + 12345;
const PAGE = 32 * 1024;

/** Random ranges clustered in a few places, so that writes and zeroes overlap. */
function ranges(random: () => number, n: number): [number, number][] {
  const spots = [0, PAGE - 100, 128 * 1024 * 1024 - 5000, SIZE - 70000];
  return Array.from({ length: n }, () => {
    const at = (spots[Math.floor(random() * spots.length)] as number) + Math.floor(random() * 60000);
    return [at, Math.min(Math.floor(random() * 3 * PAGE) + 1, SIZE - at)];
  });
}

describe.each<Allocator>(['sparse', 'malloc'])('allocator=%s', (allocator) => {
  it('reads back what was written and zeroed, as a flat buffer would', () => {
    const random = seededRandom(7);
    const store = createStore(allocator, BigInt(SIZE));
    const flat = new Uint8Array(SIZE);
    for (const [at, count] of ranges(random, 400)) {
      if (random() < 0.3) {
        store.zero(count, BigInt(at));
        flat.fill(0, at, at + count);
      } else {
        const data = Uint8Array.from({ length: count }, () => Math.floor(random() * 256));
        store.write(data, BigInt(at));
        flat.set(data, at);
      }
    }
    for (const [at, count] of ranges(random, 200)) {
      const buf = new Uint8Array(count).fill(0xee);
      store.read(buf, BigInt(at));
      expect(Buffer.compare(buf, flat.subarray(at, at + count))).toBe(0);
    }
  });
});

describe('allocator=sparse', () => {
  const extents = (store: ReturnType<typeof createStore>, count: number, offset: bigint, flags = 0) => {
    const list = new ExtentList(offset, offset + BigInt(count));
    store.extents(count, offset, flags, list);
    return list.extents.map((e) => [e.offset, e.length, e.type]);
  };
  const HOLE = ExtentType.HOLE | ExtentType.ZERO;

  it('takes memory only for the pages written, and gives it back when they are zeroed', () => {
    const store = createStore('sparse', (1n << 63n) - 1n);
    store.write(new Uint8Array(10).fill(1), 5n * 1024n ** 4n);
    store.write(new Uint8Array(2 * PAGE).fill(2), (1n << 63n) - 2n * BigInt(PAGE));
    expect(extents(store, 2 ** 32 - 1, 5n * 1024n ** 4n - 100n)).toEqual([
      [5n * 1024n ** 4n - 100n, 100n, HOLE],
      [5n * 1024n ** 4n, BigInt(PAGE), ExtentType.DATA],
      [5n * 1024n ** 4n + BigInt(PAGE), 2n ** 32n - 1n - 100n - BigInt(PAGE), HOLE],
    ]);
    store.zero(5, 5n * 1024n ** 4n);
    expect(extents(store, 100, 5n * 1024n ** 4n)).toEqual([[5n * 1024n ** 4n, 100n, ExtentType.DATA]]);
    store.zero(5, 5n * 1024n ** 4n + 5n);
    expect(extents(store, 100, 5n * 1024n ** 4n)).toEqual([[5n * 1024n ** 4n, 100n, HOLE]]);
    store.zero(PAGE, (1n << 63n) - 2n * BigInt(PAGE));
    expect(extents(store, 2 * PAGE - 1, (1n << 63n) - 2n * BigInt(PAGE))).toEqual([
      [(1n << 63n) - 2n * BigInt(PAGE), BigInt(PAGE), HOLE],
      [(1n << 63n) - BigInt(PAGE), BigInt(PAGE) - 1n, ExtentType.DATA],
    ]);
  });

  it('reports a page written with zeroes only as zero, not as a hole', () => {
    const store = createStore('sparse', 1n << 20n);
    store.write(new Uint8Array(10), BigInt(PAGE + 5));
    store.write(new Uint8Array(1).fill(1), BigInt(2 * PAGE));
    expect(extents(store, 4 * PAGE, 0n)).toEqual([
      [0n, BigInt(PAGE), HOLE],
      [BigInt(PAGE), BigInt(PAGE), ExtentType.ZERO],
      [BigInt(2 * PAGE), BigInt(PAGE), ExtentType.DATA],
      [BigInt(3 * PAGE), BigInt(PAGE), HOLE],
    ]);
  });

  it('zeroes a range far larger than what it holds by visiting only the pages held', () => {
    const store = createStore('sparse', 1n << 50n);
    const at = [BigInt(PAGE) - 3n, 1n << 40n, (1n << 41n) + 5n];
    for (const offset of at) store.write(new Uint8Array(6).fill(9), offset);
    store.zero(2 ** 41 - PAGE, BigInt(PAGE));
    const bytes = at.map((offset) => {
      const buf = new Uint8Array(6);
      store.read(buf, offset);
      return [...buf];
    });
    expect(bytes).toEqual([[9, 9, 9, 0, 0, 0], [0, 0, 0, 0, 0, 0], [9, 9, 9, 9, 9, 9]]);
    expect(extents(store, 2 * PAGE, 1n << 40n)).toEqual([[1n << 40n, BigInt(2 * PAGE), HOLE]]);
  });

  it('reuses the memory of pages given back: a page taken again reads as zeroes where it was not written', () => {
    const store = createStore('sparse', 1n << 30n);
    const read = (count: number, offset: number) => {
      const buf = new Uint8Array(count).fill(0xee);
      store.read(buf, BigInt(offset));
      return buf;
    };
    // 40 pages (more than one slab of 32), then some of them given back, then new pages written in part.
    for (let i = 0; i < 40; i++) store.write(new Uint8Array(PAGE).fill(i + 1), BigInt(i * PAGE));
    store.zero(8 * PAGE, BigInt(4 * PAGE));
    store.zero(27 * PAGE, BigInt(12 * PAGE));
    store.zero(PAGE, BigInt(39 * PAGE));
    for (let i = 100; i < 150; i++) store.write(new Uint8Array(10).fill(i), BigInt(i * PAGE + 100));
    for (let i = 0; i < 4; i++) expect(read(PAGE, i * PAGE).every((b) => b === i + 1)).toBe(true);
    expect(read(36 * PAGE, 4 * PAGE).every((b) => b === 0)).toBe(true);
    for (let i = 100; i < 150; i++) {
      const page = read(PAGE, i * PAGE);
      expect(page.subarray(100, 110).every((b) => b === i)).toBe(true);
      expect(page.subarray(0, 100).every((b) => b === 0) && page.subarray(110).every((b) => b === 0)).toBe(true);
    }
    expect(extents(store, 100 * PAGE, 0n)).toEqual([[0n, BigInt(4 * PAGE), ExtentType.DATA], [BigInt(4 * PAGE), BigInt(96 * PAGE), HOLE]]);
  });

  it('stops after the first extent with REQ_ONE', () => {
    const store = createStore('sparse', 1n << 30n);
    store.write(new Uint8Array(1).fill(1), BigInt(3 * PAGE));
    expect(extents(store, 10 * PAGE, 0n, Flag.REQ_ONE)).toEqual([[0n, BigInt(3 * PAGE), HOLE]]);
  });
});
