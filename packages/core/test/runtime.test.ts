import { describe, expect, it } from 'vitest';
import {
  API_VERSION,
  countToBigint,
  defineFilter,
  definePlugin,
  errnoCodeOf,
  errorCode,
  nbdError,
  parseBool,
  parseSize,
  stricterConcurrency,
  toSafeNumber,
} from '../src/index.js';

describe('errors', () => {
  it('errorCode reads errno codes and defaults to EIO', () => {
    expect(errorCode(nbdError('ENOSPC'))).toBe('ENOSPC');
    expect(errorCode(Object.assign(new Error('x'), { code: 'EROFS' }))).toBe('EROFS');
    expect(errorCode(new Error('plain'))).toBe('EIO');
    expect(errorCode({ code: 'ERR_SOMETHING_NODE' })).toBe('EIO');
    expect(errorCode('string')).toBe('EIO');
  });

  it('errnoCodeOf tells a coded error from one without a code', () => {
    expect(errnoCodeOf(nbdError('EIO'))).toBe('EIO');
    expect(errnoCodeOf(new Error('plain'))).toBeUndefined();
    expect(errnoCodeOf({ code: 'ERR_SOMETHING_NODE' })).toBeUndefined();
  });
});

describe('checked conversions', () => {
  it('refuse values that would round or wrap', () => {
    expect(toSafeNumber(2n ** 53n - 1n)).toBe(2 ** 53 - 1);
    expect(() => toSafeNumber(2n ** 53n)).toThrow(/safe integer/);
    expect(() => toSafeNumber(-1n)).toThrow();
    expect(countToBigint(0xffffffff)).toBe(0xffffffffn);
    expect(() => countToBigint(2 ** 32)).toThrow();
    expect(() => countToBigint(1.5)).toThrow();
  });
});

describe('parameters', () => {
  it('parseBool takes nbdkit spellings and names the key when wrong', () => {
    for (const v of ['1', 'true', 'YES', 'on']) expect(parseBool('k', v)).toBe(true);
    for (const v of ['0', 'false', 'No', 'off']) expect(parseBool('k', v)).toBe(false);
    expect(() => parseBool('retry-readonly', 'maybe')).toThrow(/retry-readonly=maybe/);
  });

  it('parseSize takes units and names the key when wrong', () => {
    expect(parseSize('size', '512')).toBe(512n);
    expect(parseSize('size', '64K')).toBe(65536n);
    expect(parseSize('size', '1M')).toBe(1048576n);
    expect(parseSize('size', '2G')).toBe(2n * 1024n ** 3n);
    expect(parseSize('size', '1TiB')).toBe(1024n ** 4n);
    expect(parseSize('size', '4s')).toBe(2048n);
    expect(() => parseSize('size', '12X')).toThrow(/size=12X/);
    expect(() => parseSize('size', '100000E')).toThrow(/too large/);
  });
});

describe('concurrency', () => {
  it('picks the stricter level', () => {
    expect(stricterConcurrency('parallel', 'serialize-requests')).toBe('serialize-requests');
    expect(stricterConcurrency('serialize-connections', 'serialize-all-requests')).toBe('serialize-connections');
  });
});

describe('define', () => {
  it('a factory gives each server its own instance', () => {
    const def = definePlugin(() => {
      let value = '';
      return {
        apiVersion: API_VERSION,
        name: 't',
        config: (_k: string, v: string) => void (value = v),
        open: () => ({ capabilities: () => ({ size: BigInt(value.length) }) }),
      };
    });
    const a = def.create();
    const b = def.create();
    void a.config?.('k', 'abc');
    expect(a.kind).toBe('plugin');
    expect(a).not.toBe(b);
    expect(defineFilter({ apiVersion: API_VERSION, name: 'f' }).create().kind).toBe('filter');
  });
});
