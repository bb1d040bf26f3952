import { nbdError, type Logger } from '@nbdkit-ts/core';

/**
 * Waits on behalf of one signal's owner (a connection, a shared context, the
 * server): every wait ends with ESHUTDOWN as soon as the signal is aborted.
 * One listener on the signal serves all the waits, however many are running.
 * Each wait is logged as a debug message (`-v`).
 */
export class Sleeper {
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly signal: AbortSignal,
    private readonly log: Logger,
  ) {
    signal.addEventListener('abort', () => {
      for (const interrupt of this.waiting) interrupt();
    }, { once: true });
  }

  /**
   * Waits `ms` milliseconds (Node's timers count whole milliseconds: a
   * fraction waits the next whole one); `what` names the wait in the error.
   */
  sleep(ms: number, what: string): Promise<void> {
    const interrupted = () => nbdError('ESHUTDOWN', `delay: ${what} interrupted: the connection or the server is closing`);
    if (this.signal.aborted) return Promise.reject(interrupted());
    this.log.debug(`${what}: waiting ${ms} ms`);
    return new Promise<void>((resolve, reject) => {
      const interrupt = (): void => {
        clearTimeout(timer);
        this.waiting.delete(interrupt);
        reject(interrupted());
      };
      const timer = setTimeout(() => {
        this.waiting.delete(interrupt);
        resolve();
      }, Math.ceil(ms));
      this.waiting.add(interrupt);
    });
  }
}
