import { errorMessage, type BackgroundTask, type Logger } from '@nbdkit-ts/core';

/**
 * The layers' background tasks (Host.background). At shutdown, once the
 * connections have closed, their signal is aborted and every one is waited
 * for before shared contexts close and cleanup hooks run; none starts after
 * that.
 */
export class BackgroundTasks {
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();

  /** Tasks running now. */
  get count(): number {
    return this.running.size;
  }

  /** Starts `task` for the layer whose log is `log`; throws once {@link stop} was called. */
  start(log: Logger, name: string, task: BackgroundTask): void {
    if (this.abort.signal.aborted) throw new Error(`background task ${name}: not started, the server is shutting down`);
    log.debug(`background task ${name}: started`);
    // An async wrapper, so that a task that throws before returning a promise is caught too.
    const done = (async () => task(this.abort.signal))();
    const settled = done.then(
      () => log.debug(`background task ${name}: done`),
      (e: unknown) => {
        if (this.abort.signal.aborted) log.debug(`background task ${name}: stopped: ${errorMessage(e)}`);
        else log.error(`background task ${name}: ${errorMessage(e)}`);
      },
    );
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
  }

  /** Aborts every task and waits until all have settled. */
  async stop(): Promise<void> {
    this.abort.abort();
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
