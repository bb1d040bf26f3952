import { parseSize, type ParamSpec } from '@nbdkit-ts/core';
import { createStore, parseAllocator, type Allocator, type Store } from '@nbdkit-ts/plugin-memory';
import { evaluate, type Variables } from './evaluate.js';
import { Image } from './image.js';

/** The plugin's parameters, for `--help`. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'data', description: 'the disk, in the data language: bytes, "strings", le32:WORDS, @OFFSETS, ( groups )*N, <FILES, $VARS', magic: true },
  { name: 'raw', description: 'the disk: these bytes, as given' },
  { name: 'base64', description: 'the disk: these bytes, in base64' },
  { name: 'size', description: 'cut or extend the disk (with zeroes) to this size; default: the size of the data' },
  { name: 'allocator', description: 'sparse (default) or malloc, as for the memory plugin' },
];

type SourceKey = 'data' | 'raw' | 'base64';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The parameters as given, checked one by one and then together. */
export class DataConfig {
  private source: { readonly key: SourceKey; readonly value: string } | undefined;
  private size: bigint | undefined;
  private allocator: Allocator = 'sparse';

  /** Whether the disk is described in the data language (data=), the only source with $VARs. */
  get usesData(): boolean {
    return this.source?.key === 'data';
  }

  /** One `key=value`; throws an error naming the parameter when the value is bad. */
  set(key: string, value: string): void {
    if (key === 'size') {
      this.size = parseSize(key, value);
    } else if (key === 'allocator') {
      this.allocator = parseAllocator(key, value);
    } else {
      if (this.source !== undefined) {
        const which = this.source.key === key ? `${key}= given more than once` : `${this.source.key}= and ${key}= cannot be used together`;
        throw new Error(`${which}: give one of data=, raw= or base64=`);
      }
      if (key === 'base64' && !BASE64.test(value.replace(/\s/g, ''))) throw new Error(`base64=${value}: not valid base64`);
      this.source = { key: key as SourceKey, value };
    }
  }

  /**
   * After the last parameter: evaluates the data into a store of the
   * allocator chosen, cut or extended to `size=`. `$VAR`s are looked up in
   * `variables`.
   */
  complete(variables: Variables): Store {
    if (this.source === undefined) throw new Error("one of data=, raw= or base64= is required: the disk's contents (nbdkit-ts data '1 2 3 @0x1fe 0x55 0xaa')");
    const { key, value } = this.source;
    const image =
      key === 'data' ? evaluate(value, variables) : Image.of(key === 'raw' ? Buffer.from(value, 'utf8') : Buffer.from(value.replace(/\s/g, ''), 'base64'));
    const size = this.size ?? image.length;
    const store = createStore(this.allocator, size);
    for (const [offset, bytes] of image.held()) {
      if (offset >= size) continue;
      const left = size - offset;
      store.write(left < bytes.length ? bytes.subarray(0, Number(left)) : bytes, offset);
    }
    return store;
  }
}
