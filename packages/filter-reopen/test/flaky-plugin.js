// A plugin that serves a file and fails on command, for the reopen filter's tests.
//
//   nbdkit-ts --filter=reopen .../flaky-plugin.js DISK state=DIR
//
// It writes one line per event to DIR/log: "open N rw" (or ro), "open N failed
// EIO", "close N", "METHOD N OFFSET COUNT" and "METHOD N failed CODE", where N
// is the number of the open (1, 2, ...) that made the context.
// It obeys files in DIR, read at each open or call:
//   open-N.json     for open N: {"fail": "EIO"} fails it; {"delay": 1500} answers
//                   after that many milliseconds; {"failClose": "EIO"} makes its
//                   close fail ("close N failed EIO"); other keys override
//                   capabilities ({"size": 512, "canFua": "none", "canFastZero": false}).
//   fail-METHOD     one line per coming failure of METHOD, used up in order:
//                   an errno name (EIO, ESHUTDOWN, ...) throws it;
//                   "partial": pread scribbles over the buffer, extents adds a
//                   correct first extent, then a broken one (so the call fails);
//                   "garbage": extents adds a broken first extent.
//   delay-METHOD    milliseconds each METHOD call waits before answering.
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, definePlugin, ExtentType, nbdError, toSafeNumber } from '@nbdkit-ts/core';
/** @import { Capabilities, Concurrency, MaybePromise } from '@nbdkit-ts/core' */

/**
 * What open-N.json may say, besides capabilities to override.
 * @typedef {object} OpenSettings
 * @property {string} [fail] errno name the open fails with
 * @property {number} [delay] milliseconds the open waits before answering
 * @property {string} [failClose] errno name the close of the context fails with
 * @property {number} [size] size of the export, in place of the file's
 */

const BLOCK = 512;

/**
 * A flaky plugin declaring `concurrency`.
 * @param {Concurrency} concurrency
 */
export function flakyPlugin(concurrency) {
  return definePlugin(() => {
    /** @type {string | undefined} */
    let file;
    /** @type {string | undefined} */
    let state;
    let opens = 0;
    /** Path of `name` in the state folder (configComplete checked that state= was given). */
    const inState = (/** @type {string} */ name) => join(/** @type {string} */ (state), name);
    const log = (/** @type {string} */ line) => appendFileSync(inState('log'), line + '\n');
    const read = (/** @type {string} */ name) => (existsSync(inState(name)) ? readFileSync(inState(name), 'utf8') : undefined);

    /** Uses up the next failure of `method`, if any. */
    const takeFault = (/** @type {string} */ method) => {
      const [first, ...rest] = (read(`fail-${method}`) ?? '').split('\n').filter((l) => l.trim() !== '');
      if (first === undefined) return undefined;
      writeFileSync(inState(`fail-${method}`), rest.join('\n'));
      return first.trim();
    };

    /**
     * Runs one call: logs it, waits if told to, then fails or does `work`.
     * @param {string} method
     * @param {number} id number of the open that made the context
     * @param {bigint | number} offset
     * @param {number} count
     * @param {(fault: string | undefined) => void} work given "partial" or "garbage" when that is the fault
     * @returns {MaybePromise<void>}
     */
    const call = (method, id, offset, count, work) => {
      const fault = takeFault(method);
      const delay = Number(read(`delay-${method}`) ?? 0);
      const finish = () => {
        if (fault === undefined) log(`${method} ${id} ${offset} ${count}`);
        else {
          log(`${method} ${id} failed ${fault}`);
          if (fault !== 'partial' && fault !== 'garbage') throw nbdError(fault, `${method} failed on command`);
        }
        work(fault);
      };
      if (delay > 0) return sleep(delay).then(finish);
      finish();
      return undefined;
    };

    return {
      apiVersion: API_VERSION,
      name: 'flaky',
      concurrency,
      params: [
        { name: 'file', description: 'the file to serve', magic: true },
        { name: 'state', description: 'folder of the log and the control files' },
      ],
      config(key, value) {
        if (key === 'file') file = value;
        else state = value;
      },
      configComplete() {
        if (file === undefined || state === undefined) throw new Error('file= and state= are required');
      },
      async open({ readonly }) {
        const id = ++opens;
        /** @type {unknown} */
        const json = JSON.parse(read(`open-${id}.json`) ?? '{}');
        const settings = /** @type {OpenSettings & Omit<Partial<Capabilities>, 'size'>} */ (json); // written by the tests
        if (settings.delay !== undefined) await sleep(settings.delay);
        if (settings.fail !== undefined) {
          log(`open ${id} failed ${settings.fail}`);
          throw nbdError(settings.fail, `open ${id} failed on command`);
        }
        log(`open ${id} ${readonly ? 'ro' : 'rw'}`);
        const fd = openSync(/** @type {string} */ (file), readonly ? 'r' : 'r+');
        const { fail: _, delay: _delay, failClose, size: fixedSize, ...overrides } = settings;
        const at = (/** @type {bigint} */ offset) => toSafeNumber(offset, 'offset');
        /** @param {Uint8Array} buf @param {bigint} offset */
        const readAt = (buf, offset) => {
          let done = 0;
          while (done < buf.length) {
            const n = readSync(fd, buf, done, buf.length - done, at(offset) + done);
            if (n === 0) throw nbdError('EIO', 'read past the end of the file');
            done += n;
          }
        };
        /** @param {Uint8Array} buf @param {bigint} offset */
        const writeAt = (buf, offset) => {
          let done = 0;
          while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, at(offset) + done);
        };
        return {
          capabilities: () => ({
            size: fixedSize === undefined ? BigInt(fstatSync(fd).size) : BigInt(fixedSize),
            canWrite: !readonly,
            canFlush: true,
            canTrim: true,
            canZero: 'native',
            canFastZero: true,
            canFua: 'native',
            canExtents: true,
            canCache: 'native',
            ...overrides,
          }),
          pread: (buf, offset) =>
            call('pread', id, offset, buf.length, (fault) => {
              if (fault === undefined) return readAt(buf, offset);
              buf.fill(0xee, 0, buf.length >> 1);
              throw nbdError('EIO', 'pread failed half way');
            }),
          pwrite: (buf, offset) => call('pwrite', id, offset, buf.length, () => writeAt(buf, offset)),
          flush: () => call('flush', id, 0, 0, () => {}),
          trim: (count, offset) => call('trim', id, offset, count, () => {}),
          zero: (count, offset) => call('zero', id, offset, count, () => writeAt(new Uint8Array(count), offset)),
          cache: (count, offset) => call('cache', id, offset, count, () => {}),
          extents: (count, offset, _flags, extents) =>
            call('extents', id, offset, count, (fault) => {
              // One extent per 512-byte block: zero blocks are holes that read as zero.
              let block = (offset / BigInt(BLOCK)) * BigInt(BLOCK);
              if (fault === 'garbage') extents.add(offset + 1n, 1n, 0);
              const end = offset + BigInt(count);
              for (; block < end; block += BigInt(BLOCK)) {
                const data = new Uint8Array(BLOCK);
                readAt(data, block);
                extents.add(block, BigInt(BLOCK), data.some((b) => b !== 0) ? ExtentType.DATA : ExtentType.HOLE | ExtentType.ZERO);
                if (fault === 'partial') extents.add(block + 2n * BigInt(BLOCK), 1n, 0);
              }
            }),
          close() {
            closeSync(fd);
            if (failClose !== undefined) {
              log(`close ${id} failed ${failClose}`);
              throw nbdError(failClose, `close ${id} failed on command`);
            }
            log(`close ${id}`);
          },
        };
      },
    };
  });
}

export default flakyPlugin('parallel');
