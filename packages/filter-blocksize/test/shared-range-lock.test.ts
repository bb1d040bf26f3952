import { describe, expect, it } from 'vitest';
import { SharedRangeLock } from '../dist/shared-range-lock.js';

/** A section body that records when it starts and ends only when `finish` is called. */
function held(events: string[], name: string): { body: () => Promise<void>; finish: () => void } {
  let finish = (): void => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    body: async () => {
      events.push(`${name} starts`);
      await done;
      events.push(`${name} ends`);
    },
    finish,
  };
}

/** Lets every section that can start do so. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedRangeLock', () => {
  it('runs overlapping shared sections together', async () => {
    const lock = new SharedRangeLock();
    const events: string[] = [];
    const a = held(events, 'a');
    const b = held(events, 'b');
    const done = [lock.shared(0n, 10n, a.body), lock.shared(5n, 15n, b.body)];
    await settle();
    expect(events).toEqual(['a starts', 'b starts']);
    a.finish();
    b.finish();
    await Promise.all(done);
  });

  it('runs an exclusive section alone on its range, and sections on disjoint ranges alongside it', async () => {
    const lock = new SharedRangeLock();
    const events: string[] = [];
    const waits: string[] = [];
    const a = held(events, 'a');
    const x = held(events, 'x');
    const b = held(events, 'b');
    const c = held(events, 'c');
    const done = [
      lock.shared(0n, 10n, a.body),
      lock.exclusive(8n, 12n, x.body, () => waits.push('x')),
      lock.shared(11n, 20n, b.body, () => waits.push('b')),
      lock.exclusive(12n, 20n, c.body, () => waits.push('c')),
    ];
    await settle();
    // x waits for a; b, asked after x and overlapping it, waits for x; c overlaps only b, and waits for it.
    expect(events).toEqual(['a starts']);
    expect(waits).toEqual(['x', 'b', 'c']);
    a.finish();
    await settle();
    expect(events).toEqual(['a starts', 'a ends', 'x starts']);
    x.finish();
    await settle();
    expect(events.slice(3)).toEqual(['x ends', 'b starts']);
    b.finish();
    await settle();
    expect(events.slice(5)).toEqual(['b ends', 'c starts']);
    c.finish();
    await Promise.all(done);
  });

  it('never makes sections on disjoint ranges wait, and an exclusive section does not wait for one on the next range', async () => {
    const lock = new SharedRangeLock();
    const waits: string[] = [];
    const events: string[] = [];
    const a = held(events, 'a');
    const b = held(events, 'b');
    const done = [lock.exclusive(0n, 512n, a.body, () => waits.push('a')), lock.exclusive(512n, 1024n, b.body, () => waits.push('b'))];
    await settle();
    expect(events).toEqual(['a starts', 'b starts']);
    expect(waits).toEqual([]);
    a.finish();
    b.finish();
    await Promise.all(done);
  });

  it('releases the range when a section fails', async () => {
    const lock = new SharedRangeLock();
    await expect(lock.exclusive(0n, 10n, () => Promise.reject(new Error('failed')))).rejects.toThrow('failed');
    await expect(lock.exclusive(0n, 10n, () => 'ran')).resolves.toBe('ran');
  });
});
