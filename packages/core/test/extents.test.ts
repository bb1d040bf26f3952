import { describe, expect, it } from 'vitest';
import { ExtentList, ExtentType } from '../src/index.js';

const { HOLE, ZERO } = ExtentType;

describe('ExtentList', () => {
  it('keeps ascending contiguous extents trimmed to the range', () => {
    const l = new ExtentList(100n, 300n);
    l.add(0n, 150n, 0);
    l.add(150n, 100n, HOLE | ZERO);
    l.add(250n, 500n, 0);
    expect(l.extents).toEqual([
      { offset: 100n, length: 50n, type: 0 },
      { offset: 150n, length: 100n, type: HOLE | ZERO },
      { offset: 250n, length: 50n, type: 0 },
    ]);
    expect(l.covered).toBe(300n);
  });

  it('merges neighbours of the same type', () => {
    const l = new ExtentList(0n, 100n);
    l.add(0n, 10n, ZERO);
    l.add(10n, 10n, ZERO);
    l.add(20n, 80n, 0);
    expect(l.extents).toEqual([
      { offset: 0n, length: 20n, type: ZERO },
      { offset: 20n, length: 80n, type: 0 },
    ]);
  });

  it('ignores empty extents and extents past the end', () => {
    const l = new ExtentList(0n, 10n);
    l.add(0n, 0n, HOLE);
    l.add(0n, 10n, 0);
    l.add(10n, 5n, HOLE);
    expect(l.extents).toEqual([{ offset: 0n, length: 10n, type: 0 }]);
  });

  it('refuses a first extent after the start', () => {
    const l = new ExtentList(10n, 20n);
    expect(() => l.add(11n, 5n, 0)).toThrow(/after the start/);
  });

  it('refuses gaps and overlaps', () => {
    const l = new ExtentList(0n, 100n);
    l.add(0n, 10n, 0);
    expect(() => l.add(11n, 5n, 0)).toThrow(/not contiguous/);
    expect(() => l.add(5n, 5n, 0)).toThrow(/not contiguous/);
    expect(() => l.add(10n, -1n, 0)).toThrow(/negative/);
  });

  it('reports coverage of a prefix when the layer stops early', () => {
    const l = new ExtentList(0n, 100n);
    expect(l.covered).toBe(0n);
    l.add(0n, 40n, HOLE);
    expect(l.covered).toBe(40n);
  });

  it('keeps at most 2^20 extents and ignores later ones, still checking their order', () => {
    const max = 1 << 20;
    const l = new ExtentList(0n, BigInt(max + 10));
    for (let i = 0; i < max + 2; i++) l.add(BigInt(i), 1n, i % 2);
    expect(l.extents.length).toBe(max);
    expect(l.covered).toBe(BigInt(max));
    expect(() => l.add(BigInt(max + 5), 1n, 0)).toThrow(/not contiguous/);
  });

  it('errors carry errno codes', () => {
    try {
      new ExtentList(10n, 5n);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('EINVAL');
    }
  });
});
