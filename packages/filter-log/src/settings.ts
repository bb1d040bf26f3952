import { parseBool, type ParamSpec } from '@nbdkit-ts/core';

/** The filter's parameters, with nbdkit's names. Without logfile= and logscript=, nothing is logged. */
export class Settings {
  /** The file the log is written to. */
  file: string | undefined;
  /** Whether the file is appended to, rather than emptied first. */
  append = false;
  /** The shell script run for each event. */
  script: string | undefined;

  static readonly params: readonly ParamSpec[] = [
    { name: 'logfile', description: 'the file the log is written to, a line an event' },
    { name: 'logappend', description: 'append to the log file instead of emptying it first (default false)' },
    { name: 'logscript', description: 'a bash script run for each event, with the event in shell variables ($act, $type, $id, ...)' },
  ];

  /** Takes one `key=value` of {@link Settings.params}; throws a message naming the key when the value is wrong. */
  config(key: string, value: string): void {
    if (key === 'logappend') this.append = parseBool(key, value);
    else if (value === '') throw new Error(`${key}=: expected a ${key === 'logfile' ? 'file name' : 'script'}`);
    else if (key === 'logfile') this.file = value;
    else this.script = value;
  }
}
