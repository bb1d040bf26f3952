import { resolve } from 'node:path';
import { DATA_METHODS, parseErrnoName, parseInteger, type DataMethods, type ParamSpec } from '@nbdkit-ts/core';
import { MAX_SEED } from './random.js';

/** A data call errors can be injected into. */
export type Method = keyof DataMethods;

/** What is injected into one kind of call. */
export interface Injection {
  /** The errno-style code thrown, for example `EIO`. */
  readonly error: string;
  /** Probability of an error per call, from 0 (never) to 1 (always). */
  readonly rate: number;
  /** Errors are injected only while this file exists; undefined: always. */
  readonly file: string | undefined;
}

/** What one group of keys (`error*` or `error-METHOD*`) set. */
interface Group {
  error?: string;
  rate?: number;
  file?: string;
}

/** `error`, `error-rate`, `error-file`, and each with a method name after `error-`. */
const KEY = new RegExp(`^error(?:-(${DATA_METHODS.join('|')}))?(?:-(rate|file))?$`);

/** Parses a rate: a probability `0..1` or a percentage `0%..100%`. */
export function parseRate(key: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)(?:e([-+]?\d+))?\s*(%?)\s*$/i.exec(value);
  if (m === null) throw new Error(`${key}=${value}: expected a rate such as 0.1 or 10%`);
  const rate = Number(`${m[1]}e${m[2] ?? '0'}`) / (m[3] === '%' ? 100 : 1);
  if (!(rate >= 0 && rate <= 1)) throw new Error(`${key}=${value}: rate is out of range (0 to 1, or 0% to 100%)`);
  return rate;
}

/** Parses a trigger file name; relative names are taken from the working directory at startup. */
export function parseFile(key: string, value: string): string {
  if (value === '') throw new Error(`${key}=: expected a file name`);
  return resolve(value);
}

/**
 * The parameters of the filter: `error`, `error-rate` and `error-file` for
 * every call, `error-METHOD`, `error-METHOD-rate`, `error-METHOD-file` for
 * one kind of call, and `error-seed`. A setting for one kind of call beats
 * the setting for every call, whatever their order on the command line.
 */
export class Settings {
  /** `error-seed`, or undefined for a fresh random seed. */
  seed: number | undefined;
  private readonly all: Group = {};
  private readonly byMethod = new Map<Method, Group>();

  /** The keys this class takes, for `--help`. */
  static params(): ParamSpec[] {
    const params: ParamSpec[] = [];
    for (const method of [undefined, ...DATA_METHODS]) {
      const prefix = method === undefined ? 'error' : `error-${method}`;
      const what = method === undefined ? 'every call' : `${method} calls`;
      params.push(
        { name: prefix, description: `the error injected into ${what}: EIO (default), ENOSPC, EPERM, ESHUTDOWN, ...` },
        { name: `${prefix}-rate`, description: `how often ${what} fail: 0..1 or 0%..100% (default 0)` },
        { name: `${prefix}-file`, description: `inject errors into ${what} only while this file exists` },
      );
    }
    params.push({ name: 'error-seed', description: `seed of the random choices (0..${MAX_SEED}), to repeat a run; default: a fresh random seed` });
    return params;
  }

  /** Takes one `key=value`; throws a message naming the key when the value is wrong. */
  config(key: string, value: string): void {
    if (key === 'error-seed') {
      this.seed = parseInteger(key, value, 0, MAX_SEED);
      return;
    }
    const m = KEY.exec(key);
    if (m === null) throw new Error(`${key}: not a parameter of the error filter`);
    const method = m[1] as Method | undefined;
    let group = this.all;
    if (method !== undefined) {
      group = this.byMethod.get(method) ?? {};
      this.byMethod.set(method, group);
    }
    switch (m[2]) {
      case 'rate':
        group.rate = parseRate(key, value);
        break;
      case 'file':
        group.file = parseFile(key, value);
        break;
      default:
        group.error = parseErrnoName(key, value);
    }
  }

  /** What is injected into `method` calls. */
  injection(method: Method): Injection {
    const own = this.byMethod.get(method) ?? {};
    return {
      error: own.error ?? this.all.error ?? 'EIO',
      rate: own.rate ?? this.all.rate ?? 0,
      file: own.file ?? this.all.file,
    };
  }
}
