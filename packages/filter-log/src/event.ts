/** ENTER and LEAVE frame a call (they share an id); PRINT is a single event. */
export type EventType = 'ENTER' | 'LEAVE' | 'PRINT';

/** One logged event, as nbdkit's log filter has them. */
export interface LogEvent {
  /** The connection it belongs to (the filter counts its contexts from 1); undefined for the server's own events. */
  readonly connection?: number;
  /** Ties an ENTER to its LEAVE: per connection for data calls, per kind of call otherwise. */
  readonly id?: number;
  /** What happened: Ready, ListExports, Connect, Read, Write, ... */
  readonly act: string;
  readonly type: EventType;
  /** `key=value` words, separated by spaces, as written in the log file (strings shell-quoted). */
  readonly fields: string;
}

/**
 * The line of the log file for `event` at `time` (milliseconds since the
 * epoch, with a fraction): `2020-08-06 02:07:23.080907 connection=1 Read
 * id=1 offset=0x0 count=0x200 ...`, in UTC, with `...` after an ENTER and
 * before the act of a LEAVE.
 */
export function fileLine(event: LogEvent, time: number): string {
  const parts = [timestamp(time)];
  if (event.connection !== undefined) parts.push(`connection=${event.connection}`);
  parts.push(`${event.type === 'LEAVE' ? '...' : ''}${event.act}`);
  if (event.id !== undefined) parts.push(`id=${event.id}`);
  if (event.fields !== '') parts.push(event.fields);
  if (event.type === 'ENTER') parts.push('...');
  return parts.join(' ') + '\n';
}

/**
 * The shell text a log script runs for `event`: the event's variables
 * (`act`, `connection`, `type`, `id`, then its fields, which are shell
 * assignments already) followed by the script.
 */
export function scriptText(event: LogEvent, script: string): string {
  const lines = [`act=${event.act}`];
  if (event.connection !== undefined) lines.push(`connection=${event.connection}`);
  lines.push(`type=${event.type}`);
  if (event.id !== undefined) lines.push(`id=${event.id}`);
  lines.push(event.fields, script);
  return lines.join('\n');
}

/** `YYYY-MM-DD HH:MM:SS.UUUUUU` in UTC. */
function timestamp(time: number): string {
  const us = Math.floor(time * 1000);
  const seconds = new Date(Math.floor(us / 1e6) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return `${seconds}.${String(us % 1e6).padStart(6, '0')}`;
}
