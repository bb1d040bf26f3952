import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSecret } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The command that runs readSecret('password', VALUE) in a node of its own, on the built package. */
function command(value: string, wrap: (script: string) => [string, string[]]): [string, string[]] {
  const script = `import { readSecret } from ${JSON.stringify(join(import.meta.dirname, '../dist/index.js'))};
try { console.log('secret=[' + readSecret('password', ${JSON.stringify(value)}) + ']'); } catch (e) { console.error(e.message); process.exit(1); }`;
  return wrap(script);
}

describe('readSecret', () => {
  it('a plain value is the secret', () => {
    expect(readSecret('password', 'hunter2')).toBe('hunter2');
    expect(readSecret('password', '')).toBe('');
  });

  it('+FILE: the first line of the file, without its newline', () => {
    expect(readSecret('password', `+${file('one', 'hunter2\n')}`)).toBe('hunter2');
    expect(readSecret('password', `+${file('two', 'first line\nsecond\n')}`)).toBe('first line');
    expect(readSecret('password', `+${file('bare', 'no newline')}`)).toBe('no newline');
    expect(readSecret('password', `+${file('empty', '')}`)).toBe('');
    expect(readSecret('password', `+${file('long', 'x'.repeat(10000) + '\ny')}`)).toBe('x'.repeat(10000));
  });

  it('+FILE that cannot be read: the key, the value and why', () => {
    const missing = join(dir, 'missing');
    expect(() => readSecret('password', `+${missing}`)).toThrow(`password=+${missing}: ENOENT`);
    expect(() => readSecret('password', `+${dir}`)).toThrow(`password=+${dir}: EISDIR`);
  });

  it('-FD: the first line read from the descriptor, which is then closed', () => {
    const fd = openSync(file('fd', 'from a descriptor\nrest'), 'r');
    expect(readSecret('password', `-${fd}`)).toBe('from a descriptor');
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
  });

  it('-FD refuses standard input, output and error, and what is not a number', () => {
    for (const fd of ['0', '1', '2']) expect(() => readSecret('password', `-${fd}`)).toThrow(`password=-${fd}: cannot read a secret from standard input, output or error (use password=- to be asked)`);
    expect(() => readSecret('password', '-x')).toThrow('password=-x: expected -FD, with FD a file descriptor number, or - to be asked');
  });

  it('-: refused when standard input is not a terminal', () => {
    const [cmd, args] = command('-', (s) => [process.execPath, ['--input-type=module', '-e', s]]);
    const r = spawnSync(cmd, args, { input: 'typed\n', encoding: 'utf8' });
    expect(r.stderr).toContain('password=-: standard input is not a terminal, cannot ask for the secret');
    expect(r.status).toBe(1);
  });

  it('-: asked on the terminal, and what is typed is not echoed', async () => {
    // script(1) gives the child a terminal; what the terminal echoes comes back in the output.
    const [cmd, args] = command('-', (s) => ['script', ['-qec', `${process.execPath} --input-type=module -e '${s.replaceAll("'", "'\\''")}'`, '/dev/null']]);
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      // Typed once the prompt is there, that is once echo is off.
      if (!out.includes('password: ') && (out + d).includes('password: ')) child.stdin.write('typed-secret\n');
      out += d;
    });
    const [status] = (await once(child, 'close')) as [number];
    expect(status).toBe(0);
    expect(out).toContain('secret=[typed-secret]');
    expect(out.replace('secret=[typed-secret]', '')).not.toContain('typed-secret');
  });
});
