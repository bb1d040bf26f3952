import { describe, expect, it } from 'vitest';
import { Mutex, RangeLock, Semaphore } from '../src/index.js';

describe('Mutex', () => {
  it('runs sections one at a time, in order, and a failing one releases the lock', async () => {
    const m = new Mutex();
    const seen: string[] = [];
    let inside = 0;
    const section = (name: string, fail = false) =>
      m.run(async () => {
        inside++;
        expect(inside).toBe(1);
        seen.push(name);
        await Promise.resolve();
        inside--;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([section('a'), section('b', true), section('c'), m.run(() => 'd')]);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  });
});

describe('RangeLock', () => {
  it('sections on overlapping ranges wait for each other; disjoint ones run together; a failure releases', async () => {
    const lock = new RangeLock();
    const inside = new Set<string>();
    const overlaps: string[] = [];
    const ranges: Record<string, [number, number]> = { a: [0, 3], b: [2, 5], c: [6, 9], d: [3, 3] };
    const section = (name: string, fail = false) => {
      const [first, last] = ranges[name] as [number, number];
      return lock.run(first, last, async () => {
        for (const other of inside) {
          const [f, l] = ranges[other] as [number, number];
          if (f <= last && first <= l) overlaps.push(`${name}/${other}`);
        }
        inside.add(name);
        await new Promise((r) => setTimeout(r, 5));
        inside.delete(name);
        if (fail) throw new Error(name);
      });
    };
    const sawTogether: boolean[] = [];
    const c = section('c');
    const a = section('a', true);
    sawTogether.push(inside.has('a') && inside.has('c'));
    const results = await Promise.allSettled([a, section('b'), c, section('d')]);
    expect(overlaps).toEqual([]);
    expect(sawTogether).toEqual([true]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  });
});

describe('Semaphore', () => {
  it('runs at most limit sections at once, in order, and a failure frees its slot', async () => {
    const s = new Semaphore(2);
    let inside = 0;
    let most = 0;
    const started: number[] = [];
    const section = (i: number) =>
      s.run(async () => {
        started.push(i);
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, 2));
        inside--;
        if (i === 1) throw new Error('one');
        return i;
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map(section));
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
  });
});
