/**
 * `@nbdkit-ts/filter-scan`: prefetches a whole export in the background
 * with cache requests, from the moment the server is ready, so that a cache
 * beneath (the cache filter, or the cow filter with cow-on-cache=true) is
 * filled before clients ask. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, Mutex, type FilterHandle, type MaybePromise, type Next } from '@nbdkit-ts/core';
import { Scanner } from './scanner.js';
import { applyParam, defaultSettings, PARAMS } from './settings.js';

export default defineFilter<FilterHandle>(() => {
  const settings = defaultSettings();
  let scanner: Scanner | undefined;
  /** Connections to the scanned export, for scan-clock=false. */
  let clients = 0;
  return {
    apiVersion: 1,
    name: 'scan',
    description: 'prefetch the whole disk in the background',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      applyParam(settings, key, value);
    },
    async ready(backend, host) {
      const exportName = settings.exportName ?? (await backend.defaultExport({ readonly: true, tls: false }));
      const serial = backend.concurrency === 'serialize-all-requests' || backend.concurrency === 'serialize-connections';
      const s = new Scanner(settings, exportName, serial ? new Mutex() : undefined);
      scanner = s;
      host.background('scan', (signal) => s.run(backend, host.log, signal));
    },
    async open(context) {
      const next = await context.openNext();
      const s = scanner as Scanner;
      const scanned = context.exportName === s.exportName;
      if (scanned && clients++ === 0 && !settings.clock) s.restart();
      return scanHandle(s, next, scanned, () => {
        if (scanned) clients--;
      });
    },
  };
});

/**
 * A connection's handle: reads of the scanned export move the scan; when the
 * scan takes turns with the clients, every call beneath takes the scanner's
 * lock, and otherwise the other calls pass through.
 */
function scanHandle(scanner: Scanner, next: Next, scanned: boolean, close: () => void): FilterHandle {
  const below = <T>(call: () => MaybePromise<T>) => scanner.below(call);
  const pread: FilterHandle['pread'] = (buf, offset, flags) => {
    if (scanned) scanner.readTo(offset + BigInt(buf.length));
    return below(() => next.pread(buf, offset, flags));
  };
  if (!scanner.takesTurns) return { pread, close };
  return {
    pread,
    pwrite: (buf, offset, flags) => below(() => next.pwrite(buf, offset, flags)),
    flush: (flags) => below(() => next.flush(flags)),
    trim: (count, offset, flags) => below(() => next.trim(count, offset, flags)),
    zero: (count, offset, flags) => below(() => next.zero(count, offset, flags)),
    extents: (count, offset, flags, extents) => below(() => next.extents(count, offset, flags, extents)),
    cache: (count, offset, flags) => below(() => next.cache(count, offset, flags)),
    close,
  };
}
