import { errorMessage, parseInteger } from '@nbdkit-ts/core';
import type { TlsMode, TlsOptions } from '../tls/load-tls.js';

/** The largest count an option takes (connections, requests in flight). */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** The command line, parsed. */
export interface CliArgs {
  readonly plugin: string | undefined;
  readonly params: string[];
  readonly filters: string[];
  readonly unixSocket: string | undefined;
  readonly port: number | undefined;
  readonly ipaddr: string | undefined;
  readonly foreground: boolean;
  /** `-s`: serve the one client on standard input and output, then exit. */
  readonly single: boolean;
  readonly readonly: boolean;
  readonly exportName: string;
  readonly run: string | undefined;
  readonly pidfile: string | undefined;
  readonly exitWithParent: boolean;
  readonly verbose: boolean;
  readonly debugFlags: string[];
  readonly version: boolean;
  readonly help: boolean;
  readonly dumpPlugin: boolean;
  readonly dumpConfig: boolean;
  /** `--long-options` / `--short-options`: list the options, one a line, as nbdkit does. */
  readonly listOptions: 'long' | 'short' | undefined;
  readonly tls: TlsOptions;
  readonly handshakeTimeout: number | undefined;
  readonly requestTimeout: number | undefined;
  readonly shutdownTimeout: number | undefined;
  readonly maxConnections: number | undefined;
  /** `-t`: requests of one connection handled at once (nbdkit: threads per connection). */
  readonly threads: number | undefined;
  readonly list: boolean;
  /** `--no-sr`: no structured replies. */
  readonly noStructuredReplies: boolean;
  /** `--mask-handshake=MASK`: the handshake flags to keep advertising. */
  readonly handshakeFlagsMask: number | undefined;
}

/** The command line is wrong; the message says how. */
export class UsageError extends Error {}

interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  readonly arg: boolean;
}

const OPTIONS: readonly OptionSpec[] = [
  { long: 'unix', short: 'U', arg: true },
  { long: 'port', short: 'p', arg: true },
  { long: 'ipaddr', short: 'i', arg: true },
  { long: 'foreground', short: 'f', arg: false },
  { long: 'single', short: 's', arg: false },
  { long: 'stdin', arg: false },
  { long: 'readonly', short: 'r', arg: false },
  { long: 'exportname', short: 'e', arg: true },
  { long: 'filter', arg: true },
  { long: 'run', arg: true },
  { long: 'pidfile', short: 'P', arg: true },
  { long: 'exit-with-parent', arg: false },
  { long: 'verbose', short: 'v', arg: false },
  { long: 'debug', short: 'D', arg: true },
  { long: 'version', short: 'V', arg: false },
  { long: 'help', short: 'h', arg: false },
  { long: 'dump-plugin', arg: false },
  { long: 'dump-config', arg: false },
  { long: 'long-options', arg: false },
  { long: 'short-options', arg: false },
  { long: 'tls', arg: true },
  { long: 'tls-certificates', arg: true },
  { long: 'tls-verify-peer', arg: false },
  { long: 'tls-psk', arg: true },
  { long: 'handshake-timeout', arg: true },
  { long: 'request-timeout', arg: true },
  { long: 'shutdown-timeout', arg: true },
  { long: 'max-connections', arg: true },
  { long: 'threads', short: 't', arg: true },
  { long: 'list', arg: false },
  { long: 'no-sr', arg: false },
  { long: 'mask-handshake', arg: true },
];

/** The options this command takes, one a line, sorted: `--name` for long ones, `-x` for short ones. */
export function optionNames(kind: 'long' | 'short'): string {
  const names = OPTIONS.flatMap((o) => (kind === 'long' ? [`--${o.long}`] : o.short === undefined ? [] : [`-${o.short}`]));
  return names.sort().join('\n');
}

/**
 * Parses nbdkit-style arguments: `[OPTIONS] PLUGIN [key=value | word]...`,
 * where options may also follow the plugin's arguments, short options may
 * be clustered (`-fv`) and take their value attached or separate.
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  const values = new Map<string, string[]>();
  const positional: string[] = [];
  const add = (long: string, value: string) => values.set(long, [...(values.get(long) ?? []), value]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const spec = OPTIONS.find((o) => o.long === name);
      if (spec === undefined) throw new UsageError(`unknown option --${name}`);
      if (!spec.arg) {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        add(name, '');
      } else if (eq >= 0) {
        add(name, a.slice(eq + 1));
      } else {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        add(name, v);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j] as string;
        const spec = OPTIONS.find((o) => o.short === c);
        if (spec === undefined) throw new UsageError(`unknown option -${c}`);
        if (!spec.arg) {
          add(spec.long, '');
          continue;
        }
        const rest = a.slice(j + 1);
        const v = rest !== '' ? rest : argv[++i];
        if (v === undefined) throw new UsageError(`-${c} needs a value`);
        add(spec.long, v);
        break;
      }
      continue;
    }
    positional.push(a);
  }
  const one = (long: string): string | undefined => {
    const v = values.get(long);
    if (v !== undefined && v.length > 1) throw new UsageError(`--${long} given more than once`);
    return v?.[0];
  };
  const flag = (long: string) => values.has(long);
  /** An option's whole number, checked by core's parser; the error names the option. */
  const integer = (long: string, min: number, max: number): number | undefined => {
    const text = one(long);
    if (text === undefined) return undefined;
    try {
      return parseInteger(`--${long}`, text, min, max);
    } catch (e) {
      throw new UsageError(errorMessage(e));
    }
  };
  const port = integer('port', 0, 65535);
  const unixSocket = one('unix');
  if (unixSocket !== undefined && port !== undefined) throw new UsageError('-U and -p cannot be used together');
  const run = one('run');
  const single = flag('single') || flag('stdin');
  if (single) {
    const clash = (
      [
        ['-U', unixSocket !== undefined],
        ['-p', port !== undefined],
        ['--run', run !== undefined],
        ['--dump-plugin', flag('dump-plugin')],
      ] as const
    ).find(([, given]) => given);
    if (clash !== undefined) throw new UsageError(`-s and ${clash[0]} cannot be used together: -s serves the client on stdin and stdout, without listening`);
  }
  const [plugin, ...params] = positional;
  const seconds = (long: string): number | undefined => {
    const text = one(long);
    if (text === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`--${long}=${text}: not a number of seconds`);
    return Number(text);
  };
  const handshakeFlagsMask = integer('mask-handshake', 0, 0xffff);
  const maxConnections = integer('max-connections', 1, MAX_COUNT);
  const threads = integer('threads', 1, MAX_COUNT);
  const tlsText = one('tls') ?? 'off';
  if (!['off', 'on', 'require'].includes(tlsText)) throw new UsageError(`--tls=${tlsText}: expected off, on or require`);
  const certificates = one('tls-certificates');
  const psk = one('tls-psk');
  return {
    plugin,
    params,
    filters: values.get('filter') ?? [],
    unixSocket,
    port,
    ipaddr: one('ipaddr'),
    foreground: flag('foreground') || run !== undefined || single,
    single,
    readonly: flag('readonly'),
    exportName: one('exportname') ?? '',
    run,
    pidfile: one('pidfile'),
    exitWithParent: flag('exit-with-parent'),
    verbose: flag('verbose'),
    debugFlags: values.get('debug') ?? [],
    version: flag('version'),
    help: flag('help'),
    dumpPlugin: flag('dump-plugin'),
    dumpConfig: flag('dump-config'),
    listOptions: flag('long-options') ? 'long' : flag('short-options') ? 'short' : undefined,
    tls: {
      mode: tlsText as TlsMode,
      ...(certificates === undefined ? {} : { certificates }),
      ...(psk === undefined ? {} : { psk }),
      verifyPeer: flag('tls-verify-peer'),
    },
    handshakeTimeout: seconds('handshake-timeout'),
    requestTimeout: seconds('request-timeout'),
    shutdownTimeout: seconds('shutdown-timeout'),
    maxConnections,
    threads,
    list: flag('list'),
    noStructuredReplies: flag('no-sr'),
    handshakeFlagsMask,
  };
}
