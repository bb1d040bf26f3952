import { describe, expect, it } from 'vitest';
import { MAX_DELAY_MS, parseDelay, parseErrnoName, parseInteger } from '../src/index.js';

describe('the parsing kit', () => {
  it('parseInteger: decimal or 0x, within the range, else a message naming key, value and range', () => {
    expect(parseInteger('n', '42', 0, 100)).toBe(42);
    expect(parseInteger('n', ' 0x1f ', 0, 100)).toBe(31);
    expect(parseInteger('n', '-3', -5, 5)).toBe(-3);
    for (const bad of ['', 'abc', '1.5', '101', '-1', '0x', '1e3']) expect(() => parseInteger('n', bad, 0, 100)).toThrow(`n=${bad}: expected a whole number from 0 to 100`);
  });

  it('parseDelay: seconds, s, ms, us, ns, in milliseconds', () => {
    expect([parseDelay('d', '2'), parseDelay('d', '0.5'), parseDelay('d', '.25s'), parseDelay('d', '500ms'), parseDelay('d', '250us'), parseDelay('d', '1000ns')]).toEqual([2000, 500, 250, 500, 0.25, 0.001]);
    expect(parseDelay('d', '0')).toBe(0);
    expect(() => parseDelay('d', '5m')).toThrow('d=5m: expected a delay in seconds');
    expect(() => parseDelay('d', '-1')).toThrow('d=-1: expected a delay in seconds');
    expect(() => parseDelay('d', String(MAX_DELAY_MS))).toThrow('the delay must be at most 2147483.647 seconds');
  });

  it('parseErrnoName: any case; unknown names refused', () => {
    expect(['eio', 'ESHUTDOWN', ' enotsup '].map((v) => parseErrnoName('e', v))).toEqual(['EIO', 'ESHUTDOWN', 'ENOTSUP']);
    expect(() => parseErrnoName('e', 'EIOO')).toThrow('e=EIOO: "EIOO" is not an errno name (such as EIO, ENOSPC, EPERM or ESHUTDOWN)');
  });
});
