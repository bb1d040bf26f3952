import { parseBool, type ParamSpec } from '@nbdkit-ts/core';

/** What NBD_OPT_LIST answers: the list beneath, an error, nothing, the default export alone, or the names given with exportname=. */
export type ListMode = 'keep' | 'error' | 'empty' | 'defaultonly' | 'explicit';

/** Where export descriptions come from: beneath, nowhere, one fixed text, or a script. */
export type DescriptionMode = { readonly mode: 'keep' } | { readonly mode: 'none' } | { readonly mode: 'fixed'; readonly text: string } | { readonly mode: 'script'; readonly script: string };

const LIST_MODES: Readonly<Record<string, ListMode>> = {
  keep: 'keep',
  error: 'error',
  empty: 'empty',
  defaultonly: 'defaultonly',
  'default-only': 'defaultonly',
  explicit: 'explicit',
};

/** The filter's parameters, with nbdkit's names and defaults. */
export class Settings {
  /** The export the default name ("") stands for; undefined: the one of the layer beneath. */
  defaultExport: string | undefined;
  list: ListMode = 'keep';
  /** Whether clients may open only the names given with exportname=. */
  strict = false;
  /** The names given with exportname=, in order, each once. */
  readonly names: string[] = [];
  description: DescriptionMode = { mode: 'keep' };

  static readonly params: readonly ParamSpec[] = [
    { name: 'default-export', description: 'the export a client asking for the default export ("") gets' },
    { name: 'exportname-list', description: "what export list clients get: 'keep' (default), 'error', 'empty', 'defaultonly', 'explicit' (the exportname= names)" },
    { name: 'exportname-strict', description: 'let clients open only the names given with exportname= (default false)' },
    { name: 'exportname', description: 'an export name, for exportname-list=explicit and exportname-strict (repeatable)' },
    { name: 'exportdesc', description: "export descriptions: 'keep' (default), 'none', 'fixed:TEXT', 'script:SCRIPT' (run with $name set)" },
  ];

  /** Takes one `key=value` of {@link Settings.params}; throws a message naming the key when the value is wrong. */
  config(key: string, value: string): void {
    switch (key) {
      case 'default-export':
        this.defaultExport = checkLength(key, value);
        break;
      case 'exportname-list': {
        const mode = LIST_MODES[value];
        if (mode === undefined) throw new Error(`${key}=${value}: unknown mode: expected keep, error, empty, defaultonly or explicit`);
        this.list = mode;
        break;
      }
      case 'exportname-strict':
        this.strict = parseBool(key, value);
        break;
      case 'exportname':
        if (!this.names.includes(checkLength(key, value))) this.names.push(value);
        break;
      default:
        this.description = parseDescription(key, value);
    }
  }
}

/** The longest export name (and description) NBD carries, in bytes. */
export const MAX_NBD_STRING = 4096;

function checkLength(key: string, value: string): string {
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_NBD_STRING) throw new Error(`${key}: the name is ${bytes} bytes long; NBD allows at most ${MAX_NBD_STRING}`);
  return value;
}

function parseDescription(key: string, value: string): DescriptionMode {
  if (value === 'keep' || value === 'none') return { mode: value };
  if (value.startsWith('fixed:')) return { mode: 'fixed', text: value.slice('fixed:'.length) };
  if (value.startsWith('script:')) return { mode: 'script', script: value.slice('script:'.length) };
  throw new Error(`${key}=${value}: unknown mode: expected keep, none, fixed:TEXT or script:SCRIPT`);
}
