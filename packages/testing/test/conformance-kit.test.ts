import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { cliPath, run, tempDir } from '@nbdkit-ts/testing';

interface Report {
  testResults: { assertionResults: { ancestorTitles: string[]; title: string; status: string; failureMessages: string[] }[] }[];
}

/** Each layer in test/broken breaks one rule; the check of that rule must fail, saying why. */
const EXPECTED: Record<string, [check: string, message: RegExp]> = {
  lossy: ['read-after-write', /^Error: read-after-write: AssertionError: read after a write of \d+ bytes at 0: first difference at byte 0/],
  spill: ['zero', /^Error: zero: AssertionError: zero of 4096 bytes at 4096: first difference at byte 8192 of 12288/],
  'all-holes': ['extents', /^Error: extents: AssertionError: bytes just written at 0 are reported as zero/],
  fickle: ['capabilities', /^Error: capabilities: AssertionError: is_rotational is False on one connection and True on another/],
  scribble: ['read-only', /^Error: read-only: AssertionError: data at 0 changed on a read-only export/],
  swallow: ['errors', /^Error: errors: AssertionError: every read succeeded while the layer beneath failed them with EIO/],
  private: ['multi-conn', /^Error: multi-conn: AssertionError: with multi-conn, a write and flush on one connection is not seen by another/],
};

describe('the conformance suites catch layers that break the contract', () => {
  let dir: string;
  let report: Report;

  beforeAll(async () => {
    dir = tempDir();
    const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
    const out = join(dir, 'report.json');
    const root = fileURLToPath(new URL('./broken', import.meta.url));
    const r = await run(process.execPath, [vitest, 'run', '--root', root, '--reporter=json', `--outputFile=${out}`], {
      env: { NBDKIT_TS_CLI: cliPath() },
    });
    expect(r.status, r.stderr).toBe(1);
    report = JSON.parse(readFileSync(out, 'utf8')) as Report;
  }, 600_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [layer, [check, message]] of Object.entries(EXPECTED)) {
    it(`${check} fails for ${layer}, and only that check ran`, () => {
      const results = report.testResults.flatMap((f) => f.assertionResults).filter((t) => t.ancestorTitles[0]?.includes(` ${layer} `));
      const ran = results.filter((t) => t.status !== 'skipped');
      expect(ran.map((t) => t.title.split(':')[0])).toEqual([check]);
      expect(ran[0]?.status).toBe('failed');
      expect(ran[0]?.failureMessages[0]).toMatch(message);
    });
  }
});
