import { closeSync, openSync, writeSync } from 'node:fs';
import { errorCode, errorMessage, type Logger, type MaybePromise } from '@nbdkit-ts/core';
import { fileLine, scriptText, type LogEvent } from './event.js';
import { runLogScript } from './log-script.js';
import type { Settings } from './settings.js';

/**
 * Where events go: a line in the log file, written at once (a line is never
 * held in a buffer, so none is lost when the server stops), and a run of the
 * log script, which the caller waits for. Logging is best effort: a failed
 * write or script is reported on the server's log and the call goes on.
 */
export class EventLog {
  private fd: number | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly log: Logger,
  ) {}

  /** Whether events go anywhere. */
  get active(): boolean {
    return this.settings.file !== undefined || this.settings.script !== undefined;
  }

  /** Opens the log file, emptying it unless logappend is set. Throws a message naming the file. */
  open(): void {
    const { file, append } = this.settings;
    if (file === undefined) return;
    try {
      this.fd = openSync(file, append ? 'a' : 'w', 0o666);
    } catch (e) {
      throw new Error(`logfile=${file}: cannot open it: ${errorMessage(e)}`, { cause: e });
    }
  }

  /** Closes the log file; later events go to the script only. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * Logs `call` as an ENTER event with `fields`, then a LEAVE event: with
   * `return=0` (or what `leave` makes of the result) when it succeeded, or
   * `return=-1 error=CODE` when it failed. Waits for each event's script.
   */
  async around<T>(event: Pick<LogEvent, 'connection' | 'id' | 'act'>, fields: string, call: () => MaybePromise<T>, leave: (result: T) => string = () => 'return=0'): Promise<T> {
    await this.emit({ ...event, type: 'ENTER', fields });
    let result: T;
    try {
      result = await call();
    } catch (e) {
      await this.emit({ ...event, type: 'LEAVE', fields: `return=-1 error=${errorCode(e)}` });
      throw e;
    }
    await this.emit({ ...event, type: 'LEAVE', fields: leave(result) });
    return result;
  }

  /** Logs `event`; returns a promise when the log script runs, settled once it has exited. */
  emit(event: LogEvent): Promise<void> | undefined {
    if (this.fd !== undefined) {
      try {
        writeSync(this.fd, fileLine(event, performance.timeOrigin + performance.now()));
      } catch (e) {
        this.log.warn(`logfile=${this.settings.file}: ${errorMessage(e)}`);
      }
    }
    const script = this.settings.script;
    if (script === undefined) return undefined;
    return runLogScript(scriptText(event, script)).then((failure) => {
      if (failure !== undefined) this.log.warn(`logscript ${failure} (${event.type} ${event.act})`);
    });
  }
}
