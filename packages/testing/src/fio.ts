import { runOk, type RunResult } from './run.js';

/** What {@link fioVerify} writes: fio's options of the same names. */
export interface FioVerifyOptions {
  /** `write` (sequential) or `randwrite` (default). */
  readonly rw?: 'write' | 'randwrite';
  /** Block size, as fio takes it (`16k`). */
  readonly bs: string;
  /** Bytes each job writes (`8M`). */
  readonly size: string;
  /** Requests in flight per job (default 16). */
  readonly iodepth?: number;
  /** Jobs, one connection each (default 1). */
  readonly jobs?: number;
  /** Where each job starts past the previous one's start (`--offset_increment`), with several jobs. */
  readonly offsetIncrement?: string;
}

/**
 * Writes through `uri` with fio's nbd engine, then reads everything back and
 * checks each block's crc32c (`--verify=crc32c --do_verify=1`). Throws with
 * fio's output when fio fails, a block does not verify, or fio reports an error.
 */
export async function fioVerify(uri: string, o: FioVerifyOptions): Promise<RunResult> {
  const jobs = o.jobs ?? 1;
  const r = await runOk('fio', [
    '--name=verify',
    '--ioengine=nbd',
    `--uri=${uri}`,
    `--rw=${o.rw ?? 'randwrite'}`,
    `--bs=${o.bs}`,
    `--iodepth=${o.iodepth ?? 16}`,
    `--size=${o.size}`,
    ...(jobs > 1 ? [`--numjobs=${jobs}`, '--group_reporting'] : []),
    ...(o.offsetIncrement === undefined ? [] : [`--offset_increment=${o.offsetIncrement}`]),
    '--verify=crc32c',
    '--verify_state_save=0',
    '--do_verify=1',
  ]);
  if (!/verify/.test(r.stdout) || /verify: bad|crc32c: verify failed/.test(r.stdout) || /error|fail/i.test(r.stderr)) {
    throw new Error(`fio did not verify what it wrote through ${uri}:\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}
