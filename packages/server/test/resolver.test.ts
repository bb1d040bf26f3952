import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, run, tempDir } from '@nbdkit-ts/testing';

const FILTER = `import { API_VERSION, defineFilter } from '@nbdkit-ts/core';
export default defineFilter({
  apiVersion: API_VERSION,
  name: 'plusone',
  version: '0.1.0',
  params: [{ name: 'plusone-by', description: 'what to add to every byte read' }],
  open: async (ctx) => {
    await ctx.openNext();
    return {
      async pread(buf, offset, flags) {
        await ctx.next.pread(buf, offset, flags);
        for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] + 1) & 0xff;
      },
    };
  },
});
`;

describe('finding layers outside the monorepo', () => {
  let project: string;
  let elsewhere: string;
  let image: string;

  beforeAll(() => {
    project = tempDir('nbdkit-ts-project-');
    elsewhere = tempDir('nbdkit-ts-elsewhere-');
    image = join(elsewhere, 'disk.img');
    writeFileSync(image, Buffer.alloc(4096, 0x41));
    const pkg = join(project, 'node_modules', 'nbdkit-ts-filter-plusone');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'nbdkit-ts-filter-plusone', version: '0.1.0', type: 'module', exports: { '.': { default: './index.js' } } }));
    writeFileSync(join(pkg, 'index.js'), FILTER);
    // npm installs the peer dependency on core beside it.
    const core = dirname(createRequire(cliPath()).resolve('@nbdkit-ts/core/package.json'));
    mkdirSync(join(project, 'node_modules', '@nbdkit-ts'), { recursive: true });
    symlinkSync(core, join(project, 'node_modules', '@nbdkit-ts', 'core'));
  });

  afterAll(() => {
    rmSync(project, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  const readFirstByte = (cwd: string, filter: string, env: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, [cliPath(), '-U', '-', `--filter=${filter}`, 'file', image, '--run', `nbdsh -u "$uri" -c 'print(h.pread(1, 0).hex())'`], { cwd, env });

  it('finds nbdkit-ts-filter-NAME from the working directory', async () => {
    const r = await readFirstByte(project, 'plusone');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('42');
  });

  it('finds it through $NBDKIT_TS_PATH from anywhere else', async () => {
    const r = await readFirstByte(elsewhere, 'plusone', { NBDKIT_TS_PATH: `/nonexistent:${project}` });
    expect(r.stdout.trim()).toBe('42');
  });

  it('loads a filter given as a path', async () => {
    const r = await readFirstByte(elsewhere, join(project, 'node_modules', 'nbdkit-ts-filter-plusone', 'index.js'));
    expect(r.stdout.trim()).toBe('42');
  });

  it('lists every place it looked when the filter is nowhere', async () => {
    const r = await readFirstByte(elsewhere, 'plusone');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`@nbdkit-ts/filter-plusone from ${elsewhere}`);
    expect(r.stderr).toContain(`nbdkit-ts-filter-plusone from ${elsewhere}`);
    expect(r.stderr).toMatch(/from \S*packages\/server\/?$/m);
    expect(r.stderr).toContain('$NBDKIT_TS_PATH');
  });
});
