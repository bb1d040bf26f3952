/**
 * `@nbdkit-ts/filter-partition`: serves one partition of a disk with an MBR
 * or GPT partition table. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, parseInteger, type FilterHandle } from '@nbdkit-ts/core';
import { windowHandle } from '@nbdkit-ts/filter-offset';
import { findPartition } from './find-partition.js';

/** The largest partition number, as in nbdkit (an unsigned int). */
const MAX_PARTITION = 2 ** 32 - 1;

export default defineFilter<FilterHandle>(() => {
  let partition = 0; // not given yet: partitions count from 1
  return {
    apiVersion: 1,
    name: 'partition',
    description: 'serve one partition of a disk with an MBR or GPT partition table',
    params: [{ name: 'partition', description: 'the partition to serve, counting from 1 (required)' }],
    concurrency: 'parallel',
    config(key, value) {
      partition = parseInteger(key, value, 1, MAX_PARTITION);
    },
    configComplete() {
      if (partition === 0) throw new Error('partition= is required: the number of the partition to serve, counting from 1');
    },
    async open(context) {
      // The partition table is read for each connection, as the disk beneath is when it is opened.
      const next = await context.openNext();
      const { window, table } = await findPartition(next, partition);
      context.log.debug(`${table} partition ${partition}: ${window.size} bytes at byte ${window.offset}`);
      const base = next.capabilities.description;
      return windowHandle(next, window, base === undefined ? {} : { description: `partition ${partition} of ${table} disk: ${base}` });
    },
  };
});
