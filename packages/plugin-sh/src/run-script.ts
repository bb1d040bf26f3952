import { spawn } from 'node:child_process';

/** What one run of a script left: its exit status, what it printed on stdout and on stderr. */
export interface ScriptRun {
  readonly status: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * Runs `script ARGS...` with `env`, writes `input` (or nothing) on its stdin
 * and collects its output. Rejects when the script cannot be started or is
 * killed by a signal, naming the script.
 */
export function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: Uint8Array): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(script, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    // A script that does not read its stdin closes the pipe: that is its business.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    child.on('error', (e) => reject(new Error(`${script}: cannot run it: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      if (code === null) reject(new Error(`${script}: script terminated by signal ${signal ?? '?'}`));
      else resolve({ status: code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}
