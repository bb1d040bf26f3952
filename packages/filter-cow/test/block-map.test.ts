import { describe, expect, it } from 'vitest';
import { BlockMap, BlockState } from '../dist/block-map.js';

describe('the block map', () => {
  it('keeps 2 bits per block: a 1 TiB disk of 64K blocks written all over takes 4 MiB', () => {
    const blocks = 2 ** 40 / 65536;
    const map = new BlockMap();
    expect(map.bytes).toBe(0);
    map.set(0, blocks, BlockState.DATA);
    expect(map.bytes).toBe(4 * 1024 * 1024);
    expect(map.run(0, blocks)).toBe(blocks);
  });

  it('reads back each state and finds runs, across pages', () => {
    const map = new BlockMap();
    const far = 3 * 2 ** 18 + 5;
    map.set(far, 3, BlockState.ZERO);
    map.set(far + 1, 1, BlockState.DATA);
    expect([far - 1, far, far + 1, far + 2, far + 3].map((b) => map.get(b))).toEqual([0, 2, 1, 2, 0]);
    expect(map.run(0, 2 ** 30)).toBe(far);
    expect(map.run(far + 3, 2 ** 20)).toBe(2 ** 20);
    expect(map.bytes).toBe(65536);
  });
});
