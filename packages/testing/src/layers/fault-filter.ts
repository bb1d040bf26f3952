import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DATA_METHODS, defineFilter, nbdError, parseErrnoName, parseSize, type Context, type DataMethods, type FilterHandle, type Next } from '@nbdkit-ts/core';

type Call = keyof DataMethods;

/** What the fault filter was configured with. */
interface Faults {
  error: string;
  calls: ReadonlySet<Call>;
  offset: bigint;
  length: bigint | undefined;
  file: string | undefined;
}

function parseCalls(key: string, value: string): Set<Call> {
  const calls = value.split(',').map((c) => c.trim());
  for (const c of calls) {
    if (!(DATA_METHODS as readonly string[]).includes(c)) throw new Error(`${key}=${value}: "${c}" is not one of ${DATA_METHODS.join(', ')}`);
  }
  return new Set(calls as Call[]);
}

/**
 * The error to throw now for a call touching `count` bytes at `offset`
 * (flush touches every byte), or undefined when the call goes through.
 */
function faultFor(f: Faults, call: Call, offset: bigint, count: bigint | undefined): string | undefined {
  if (!f.calls.has(call)) return undefined;
  if (count !== undefined && (offset + count <= f.offset || (f.length !== undefined && offset >= f.offset + f.length))) return undefined;
  if (f.file === undefined) return f.error;
  let content: string;
  try {
    content = readFileSync(f.file, 'utf8').trim().toUpperCase();
  } catch {
    return undefined;
  }
  return /^E[A-Z0-9]+$/.test(content) ? content : f.error;
}

function faultyHandle(ctx: Context, f: Faults): FilterHandle {
  const check = (call: Call, offset: bigint, count?: number): void => {
    const code = faultFor(f, call, offset, count === undefined ? undefined : BigInt(count));
    if (code !== undefined) throw nbdError(code, `fault: ${code} injected into ${call}${count === undefined ? '' : ` of ${count} bytes at ${offset}`}`);
  };
  const next = () => ctx.next as Next;
  return {
    pread(buf, offset, flags) {
      check('pread', offset, buf.length);
      return next().pread(buf, offset, flags);
    },
    pwrite(buf, offset, flags) {
      check('pwrite', offset, buf.length);
      return next().pwrite(buf, offset, flags);
    },
    flush(flags) {
      check('flush', 0n);
      return next().flush(flags);
    },
    trim(count, offset, flags) {
      check('trim', offset, count);
      return next().trim(count, offset, flags);
    },
    zero(count, offset, flags) {
      check('zero', offset, count);
      return next().zero(count, offset, flags);
    },
    extents(count, offset, flags, extents) {
      check('extents', offset, count);
      return next().extents(count, offset, flags, extents);
    },
    cache(count, offset, flags) {
      check('cache', offset, count);
      return next().cache(count, offset, flags);
    },
  };
}

/**
 * The `fault` filter of the testing kit: data calls that touch a range of
 * the disk fail with a chosen errno-style code, like bad sectors, always or
 * only while a trigger file exists (whose content, when it is an errno name,
 * is the code). Unlike a random fault injector, the same request always
 * fails the same way, so a test can tell exactly which call must fail.
 */
export default defineFilter<FilterHandle>(() => {
  const faults: Faults = { error: 'EIO', calls: new Set(DATA_METHODS), offset: 0n, length: undefined, file: undefined };
  return {
    // The API version this layer was written for, as a literal: the server refuses it when
    // it implements another one (API_VERSION would always agree with the core installed).
    apiVersion: 1,
    name: 'fault',
    description: 'fail data calls touching a range, for tests',
    params: [
      { name: 'fault-error', description: 'errno-style code of the failures (default EIO)' },
      { name: 'fault-calls', description: `comma-separated calls that fail (default all: ${DATA_METHODS.join(',')})` },
      { name: 'fault-offset', description: 'first byte of the failing range (default 0)' },
      { name: 'fault-length', description: 'length of the failing range (default: to the end)' },
      { name: 'fault-file', description: 'fail only while this file exists; an errno name in it overrides fault-error' },
    ],
    config(key, value) {
      if (key === 'fault-error') faults.error = parseErrnoName(key, value);
      else if (key === 'fault-calls') faults.calls = parseCalls(key, value);
      else if (key === 'fault-offset') faults.offset = parseSize(key, value);
      else if (key === 'fault-length') faults.length = parseSize(key, value);
      else if (value === '') throw new Error(`${key}=: expected a file name`);
      else faults.file = resolve(value);
    },
    async open(ctx) {
      await ctx.openNext();
      return faultyHandle(ctx, faults);
    },
  };
});
