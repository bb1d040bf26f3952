import type { Layer } from '../layer.js';
import { API_VERSION } from './api-version.js';
import { summary } from './package-json.js';

/** `src/index.ts` of a plugin: a disk in memory of `size=` bytes. */
export const pluginIndex = (layer: Layer): string => `/**
 * \`${layer.packageName}\`: an nbdkit-ts plugin.
 *
 * It serves a disk in memory, of the size given (\`size=\`), shared by every
 * connection.
 *
 * @packageDocumentation
 */
import { constants } from 'node:buffer';
import { definePlugin, parseSize, toSafeNumber, type PluginHandle } from '@nbdkit-ts/core';

/** The largest disk: it is held in one piece of memory. */
const MAX_SIZE = BigInt(constants.MAX_LENGTH);

/**
 * The plugin \`${layer.name}\`: \`nbdkit-ts ${layer.name} 1G\` serves a gigabyte of memory,
 * zeroes at first. Every connection reads and writes the same memory, so what one
 * writes the others see at once (the plugin advertises multi-conn); it is lost when
 * the server exits. The server runs the factory once per server: the size and the
 * disk live in its closure, and \`open\` returns a handle for each context.
 */
export default definePlugin<PluginHandle>(() => {
  /** The size given (\`size=\`, or the bare word). */
  let size: bigint | undefined;
  /** The disk, allocated once the configuration is complete. */
  let disk = new Uint8Array(0);
  return {
    // The API version this plugin was written for, as a literal: the server refuses it when
    // it implements another one.
    apiVersion: ${API_VERSION},
    name: '${layer.name}',
    description: '${summary(layer)}',
    params: [{ name: 'size', description: 'size of the disk: 1048576, 64K, 1M, 2G, ...', magic: true }],
    concurrency: 'parallel',
    config(key, value) {
      // Throws "size=lots: expected a size such as ..."; the server prints it and exits.
      const bytes = parseSize(key, value);
      if (bytes > MAX_SIZE) throw new Error(\`\${key}=\${value}: the disk must fit in one piece of memory (at most \${MAX_SIZE} bytes)\`);
      size = bytes;
    },
    configComplete() {
      if (size === undefined) throw new Error('no size given: nbdkit-ts ${layer.name} SIZE');
    },
    ready() {
      // Zeroes; the system provides the pages only as they are written.
      disk = new Uint8Array(Number(size));
    },
    open: () => ({
      capabilities: () => ({ size: BigInt(disk.length), canMultiConn: true }),
      // The server checks every request first: offset + count is never beyond the size.
      pread(buf, offset) {
        const at = toSafeNumber(offset, 'offset');
        buf.set(disk.subarray(at, at + buf.length));
      },
      pwrite(buf, offset) {
        disk.set(buf, toSafeNumber(offset, 'offset'));
      },
      // Memory needs no flush; having one lets clients flush, and FUA works through it.
      flush() {},
      zero(count, offset) {
        const at = toSafeNumber(offset, 'offset');
        disk.fill(0, at, at + count);
      },
    }),
  };
});
`;
