import { describe, expect, it } from 'vitest';
import { BufferAccount, ByteBudget, type Charge } from '../src/limits/byte-budget.js';
import { CONNECTION_ALLOWANCE } from '../src/limits/limits.js';

const MiB = 1024 * 1024;

/** Charges `n` bytes that must be free now. */
function charged(a: BufferAccount, n: number): Charge {
  const c = a.tryCharge(n);
  if (c === undefined) throw new Error(`${n} bytes were not free`);
  return c;
}

describe('ByteBudget', () => {
  it('grants while bytes are free and keeps the peak', () => {
    const b = new ByteBudget(10);
    expect(b.tryTake(6)).toBe(true);
    expect(b.tryTake(5)).toBe(false);
    expect(b.tryTake(4)).toBe(true);
    b.release(10);
    expect(b.used).toBe(0);
    expect(b.peak).toBe(10);
  });

  it('serves waiters first come, first served: a small request does not pass a large one', () => {
    const b = new ByteBudget(10);
    expect(b.tryTake(8)).toBe(true);
    const granted: string[] = [];
    b.wait(6, () => granted.push('large'));
    expect(b.tryTake(1)).toBe(false);
    b.wait(1, () => granted.push('small'));
    b.release(2);
    expect(granted).toEqual([]);
    b.release(6);
    expect(granted).toEqual(['large', 'small']);
    expect(b.used).toBe(7);
  });

  it('a waiter that leaves lets the next one through', () => {
    const b = new ByteBudget(10);
    b.tryTake(5);
    const granted: string[] = [];
    const leave = b.wait(8, () => granted.push('large'));
    b.wait(4, () => granted.push('small'));
    expect(granted).toEqual([]);
    leave();
    expect(granted).toEqual(['small']);
    leave();
    expect(b.used).toBe(9);
  });

  it('force takes bytes past the size', () => {
    const b = new ByteBudget(4);
    b.force(6);
    expect(b.used).toBe(6);
    expect(b.tryTake(1)).toBe(false);
  });
});

describe('BufferAccount', () => {
  it('charges the allowance first, then the pool, and never past the cap', () => {
    const pool = new ByteBudget(4 * MiB);
    const a = new BufferAccount(pool, CONNECTION_ALLOWANCE + 2 * MiB);
    expect(a.tryCharge(CONNECTION_ALLOWANCE)).toEqual({ own: CONNECTION_ALLOWANCE, pooled: 0 });
    expect(pool.used).toBe(0);
    const c = charged(a, 2 * MiB);
    expect(c).toEqual({ own: 0, pooled: 2 * MiB });
    expect(pool.used).toBe(2 * MiB);
    expect(a.tryCharge(1)).toBeUndefined();
    a.release(c);
    expect(pool.used).toBe(0);
    expect(a.held).toBe(CONNECTION_ALLOWANCE);
  });

  it('a wait over the cap is granted by the connection\'s own releases', () => {
    const pool = new ByteBudget(8 * MiB);
    const a = new BufferAccount(pool, CONNECTION_ALLOWANCE + MiB);
    a.tryCharge(CONNECTION_ALLOWANCE);
    const pooled = charged(a, MiB - 1);
    expect(a.tryCharge(2)).toBeUndefined();
    const granted: unknown[] = [];
    a.wait(2, (c) => granted.push(c));
    expect(a.waiting).toBe(true);
    a.release(pooled);
    expect(granted).toEqual([{ own: 0, pooled: 2 }]);
    expect(a.waiting).toBe(false);
  });

  it('a wait for the pool queues there and is granted when another connection releases', () => {
    const pool = new ByteBudget(2 * MiB);
    const other = new BufferAccount(pool, 16 * MiB);
    other.tryCharge(CONNECTION_ALLOWANCE);
    const held = charged(other, 2 * MiB);
    const a = new BufferAccount(pool, 16 * MiB);
    a.tryCharge(CONNECTION_ALLOWANCE);
    expect(a.tryCharge(MiB)).toBeUndefined();
    const granted: unknown[] = [];
    a.wait(MiB, (c) => granted.push(c));
    expect(a.tryCharge(1)).toBeUndefined();
    other.release(held);
    expect(granted).toEqual([{ own: 0, pooled: MiB }]);
    expect(pool.used).toBe(MiB);
  });

  it('reply bytes are released as the socket sends them, and all of them at close', () => {
    const pool = new ByteBudget(8 * MiB);
    const a = new BufferAccount(pool, 16 * MiB);
    a.toReply(charged(a, CONNECTION_ALLOWANCE));
    a.toReply(charged(a, 2 * MiB));
    a.sent(MiB + CONNECTION_ALLOWANCE);
    expect(pool.used).toBe(MiB);
    expect(a.held).toBe(MiB + CONNECTION_ALLOWANCE);
    a.close();
    expect(pool.used).toBe(0);
    expect(a.held).toBe(0);
  });

  it('force charges bytes that already arrived, past the cap', () => {
    const pool = new ByteBudget(MiB);
    const a = new BufferAccount(pool, CONNECTION_ALLOWANCE);
    a.tryCharge(CONNECTION_ALLOWANCE);
    expect(a.force(MiB)).toEqual({ own: 0, pooled: MiB });
    expect(a.force(10)).toEqual({ own: 0, pooled: 10 });
    expect(pool.used).toBe(MiB + 10);
  });
});
