import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The scripts' own temporary directory, `$tmpdir` in their environment: made
 * at load, removed at cleanup, or when the process exits however it does.
 */
export class ScriptDir {
  readonly path = mkdtempSync(join(tmpdir(), 'nbdkit-ts-sh-'));
  private readonly removeOnExit = () => this.remove();

  constructor() {
    process.once('exit', this.removeOnExit);
  }

  /** The environment the scripts run in: the server's, and `tmpdir`. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, tmpdir: this.path };
  }

  remove(): void {
    process.off('exit', this.removeOnExit);
    rmSync(this.path, { recursive: true, force: true });
  }
}
