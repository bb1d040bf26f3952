import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, run, tempDir, TEST_PATH } from '@nbdkit-ts/testing';

/** Module hooks that append the URL of every module imported to $NBDKIT_TS_IMPORTS. */
const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.NBDKIT_TS_IMPORTS, r.url + '\\n');
  return r;
}
`;

/** An `npm` that only leaves a mark that it ran. */
const FAKE_NPM = `#!/bin/sh
echo "$@" >> "$NPM_RAN"
exit 1
`;

describe('what start-up loads and runs', () => {
  let dir: string;
  let image: string;
  let register: string;

  beforeAll(() => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(1024 * 1024));
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
    register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'npm'), FAKE_NPM);
    chmodSync(join(dir, 'bin', 'npm'), 0o755);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the CLI; returns its result, the modules it imported and whether it ran npm. */
  async function traced(name: string, args: string[]) {
    const imports = join(dir, `${name}.imports`);
    const npmRan = join(dir, `${name}.npm`);
    const env = { PATH: `${join(dir, 'bin')}:${TEST_PATH}`, NBDKIT_TS_IMPORTS: imports, NPM_RAN: npmRan };
    const r = await run(process.execPath, ['--import', pathToFileURL(register).href, cliPath(), ...args], { env, cwd: dir });
    return { r, modules: readFileSync(imports, 'utf8').trim().split('\n'), npmRan: existsSync(npmRan) };
  }

  it('serving a file with --run loads the file plugin, neither other layers nor the S3 SDK nor --help and --list nor node:tls, and runs no npm', async () => {
    const { r, modules, npmRan } = await traced('file', ['-U', '-', 'file', image, '--run', 'nbdinfo --size "$uri"']);
    expect(r.status, r.stderr).toBe(0);
    expect(modules.some((m) => m.includes('/plugin-file/'))).toBe(true);
    expect(modules.filter((m) => /\/(packages|@nbdkit-ts)\/(plugin|filter)-(?!file\/)|@aws-sdk|@smithy/.test(m))).toEqual([]);
    expect(modules.filter((m) => /\/cli\/(help|list)(\.chunk)?\.js$/.test(m))).toEqual([]);
    // The build bundles the command and core: one module each, whatever the number of source files.
    const loaded = (dir: string) => [...new Set(modules.filter((m) => m.includes(dir)))];
    expect(loaded('/server/dist/')).toEqual([pathToFileURL(cliPath()).href]);
    expect(loaded('/core/dist/')).toHaveLength(1);
    expect(modules).not.toContain('node:tls');
    expect(npmRan).toBe(false);
  });

  it('the S3 SDK is loaded with plugin-s3, and npm is asked for its global root when a layer is found nowhere else', async () => {
    const s3 = await traced('s3', ['--help', 's3']);
    expect(s3.r.status, s3.r.stderr).toBe(0);
    expect(s3.modules.some((m) => m.includes('/@aws-sdk/'))).toBe(true);
    expect(s3.modules.some((m) => /\/cli\/help(\.chunk)?\.js$/.test(m))).toBe(true);
    const missing = await traced('missing', ['-U', '-', 'no-such-plugin', '--run', 'true']);
    expect(missing.r.status).toBe(1);
    expect(missing.npmRan).toBe(true);
  });
});
