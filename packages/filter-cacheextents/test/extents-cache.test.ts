import { describe, expect, it } from 'vitest';
import { ExtentsCache, type CachedAnswer } from '../src/extents-cache.js';

const answer = (exportName = ''): CachedAnswer => ({ exportName, start: 1024n, end: 4096n, extents: [{ offset: 1024n, length: 3072n, type: 3 }] });

describe('ExtentsCache', () => {
  it('answers for the offsets its answer covers, of its export only', () => {
    const cache = new ExtentsCache();
    expect(cache.keep(answer('a'), cache.asking())).toBe(true);
    expect(cache.lookup('a', 1024n)).toEqual(answer('a'));
    expect(cache.lookup('a', 4095n)).toEqual(answer('a'));
    expect(cache.lookup('a', 1023n)).toBeUndefined();
    expect(cache.lookup('a', 4096n)).toBeUndefined();
    expect(cache.lookup('b', 2048n)).toBeUndefined();
  });

  it('keeps the last answer only', () => {
    const cache = new ExtentsCache();
    cache.keep(answer('a'), cache.asking());
    cache.keep(answer('b'), cache.asking());
    expect(cache.lookup('a', 2048n)).toBeUndefined();
    expect(cache.lookup('b', 2048n)).toEqual(answer('b'));
  });

  it('drops its answer when a change begins', () => {
    const cache = new ExtentsCache();
    cache.keep(answer(), cache.asking());
    cache.changeBegins();
    expect(cache.lookup('', 2048n)).toBeUndefined();
    cache.changeEnds();
    expect(cache.lookup('', 2048n)).toBeUndefined();
  });

  it('does not keep an answer asked for while a change was under way', () => {
    const cache = new ExtentsCache();
    cache.changeBegins();
    const since = cache.asking();
    expect(cache.keep(answer(), since)).toBe(false);
    cache.changeEnds();
    expect(cache.keep(answer(), since)).toBe(false);
    expect(cache.keep(answer(), cache.asking())).toBe(true);
  });

  it('does not keep an answer when a change began and ended while it was asked for', () => {
    const cache = new ExtentsCache();
    const since = cache.asking();
    cache.changeBegins();
    cache.changeEnds();
    expect(cache.keep(answer(), since)).toBe(false);
    expect(cache.lookup('', 2048n)).toBeUndefined();
  });

  it('does not keep an empty answer', () => {
    const cache = new ExtentsCache();
    expect(cache.keep({ exportName: '', start: 0n, end: 0n, extents: [] }, cache.asking())).toBe(false);
  });
});
