import { describe, expect, it } from 'vitest';
import { afterCall, isPromise } from '../src/index.js';

describe('afterCall', () => {
  it('runs done at once and answers synchronously when the call does', () => {
    const order: string[] = [];
    const r = afterCall(
      () => {
        order.push('call');
        return 7;
      },
      () => order.push('done'),
    );
    expect(r).toBe(7);
    expect(order).toEqual(['call', 'done']);
  });

  it('runs done and rethrows when the call throws', () => {
    let done = 0;
    expect(() =>
      afterCall(
        () => {
          throw new Error('boom');
        },
        () => done++,
      ),
    ).toThrow('boom');
    expect(done).toBe(1);
  });

  it('runs done only once a promise settles, and passes on its value or error', async () => {
    let done = 0;
    let resolve = (_v: number): void => {};
    const r = afterCall(
      () => new Promise<number>((res) => (resolve = res)),
      () => done++,
    );
    expect(r).toBeInstanceOf(Promise);
    await Promise.resolve();
    expect(done).toBe(0);
    resolve(3);
    await expect(r).resolves.toBe(3);
    expect(done).toBe(1);
    await expect(afterCall(() => Promise.reject(new Error('late')), () => done++)).rejects.toThrow('late');
    expect(done).toBe(2);
  });
});

describe('isPromise', () => {
  it('tells a promise or thenable from a plain answer', () => {
    expect(isPromise(Promise.resolve())).toBe(true);
    expect(isPromise({ then: () => undefined } as unknown as Promise<void>)).toBe(true);
    expect(isPromise(undefined)).toBe(false);
    expect(isPromise(0)).toBe(false);
    expect(isPromise(null)).toBe(false);
  });
});
