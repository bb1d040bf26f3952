/**
 * `@nbdkit-ts/filter-swab`: swaps the bytes of every 16-, 32- or 64-bit
 * word of the disk beneath, to serve a disk written with the other byte
 * order. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { PARAMS, Settings } from './settings.js';
import { swappingHandle } from './swapping-handle.js';

export default defineFilter<FilterHandle>(() => {
  const settings = new Settings();
  return {
    apiVersion: 1,
    name: 'swab',
    description: 'swap the bytes of every 16-, 32- or 64-bit word, for disks of the other byte order',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      settings.config(key, value);
    },
    async open(context) {
      const next = await context.openNext();
      // swab-bits=8: words of one byte, nothing to swap or align.
      return settings.word === 1 ? {} : swappingHandle(next, settings.word);
    },
  };
});
