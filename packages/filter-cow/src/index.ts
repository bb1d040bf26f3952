/**
 * `@nbdkit-ts/filter-cow`: a copy-on-write overlay. The disk beneath is
 * opened read-only and never written; writes, trims and zeroes go to a
 * temporary overlay shared by every connection to an export, and are gone
 * when the server exits. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { cowCapabilities } from './capabilities.js';
import { Overlays } from './overlays.js';
import { applyParam, defaultSettings, PARAMS } from './settings.js';

export default defineFilter<FilterHandle>(() => {
  const settings = defaultSettings();
  const overlays = new Overlays(settings);
  return {
    apiVersion: 1,
    name: 'cow',
    description: 'copy-on-write: writes go to a temporary overlay, the disk beneath is never written',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      applyParam(settings, key, value);
    },
    async open(context) {
      // The export name is given: a context opened on a shared context's behalf has it, its scope does not.
      const next = await context.openNext({ readonly: true, exportName: context.exportName });
      const overlay = await overlays.get(context.exportName, next.capabilities.size, context.log);
      return {
        capabilities: (below) => cowCapabilities(below ?? next.capabilities, settings.blockSize),
        pread: (buf, offset) => overlay.pread(next, buf, offset),
        pwrite: (buf, offset) => overlay.pwrite(next, buf, offset),
        flush: () => {},
        trim: (count, offset) => overlay.zero(next, count, offset),
        zero: (count, offset) => overlay.zero(next, count, offset),
        extents: (count, offset, flags, extents) => overlay.extents(next, count, offset, flags, extents),
        cache: (count, offset) => overlay.cache(next, count, offset),
      };
    },
    cleanup: () => overlays.close(),
  };
});
