import { parseBool, type ParamSpec } from '@nbdkit-ts/core';

/** What multi-conn-mode asks for; `auto` is resolved per context by {@link resolveMode}. */
export type Mode = 'auto' | 'emulate' | 'plugin' | 'disable' | 'unsafe';

/** How finely dirty state is tracked to skip needless flushes (multi-conn-track-dirty). */
export type TrackDirty = 'connection' | 'fast' | 'off';

/** The filter's configuration. */
export interface Settings {
  mode: Mode;
  trackDirty: TrackDirty;
  /** One group of contexts per export name, instead of one for all. */
  byExportName: boolean;
}

const MODES: readonly Mode[] = ['auto', 'emulate', 'plugin', 'disable', 'unsafe'];
/** Accepted spellings of each tracking level (`conn` as in nbdkit). */
const TRACK_DIRTY: Readonly<Record<string, TrackDirty>> = { connection: 'connection', conn: 'connection', fast: 'fast', off: 'off' };

/** The parameters of the filter, with nbdkit's names. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'multi-conn-mode', description: 'auto (default), emulate, plugin, disable or unsafe' },
  { name: 'multi-conn-track-dirty', description: 'connection (default, or conn), fast or off: which flushes can be skipped' },
  { name: 'multi-conn-exportname', description: 'true: flush only the connections of the same export name (default false)' },
  { name: 'multi-conn-export-name', description: 'the same as multi-conn-exportname' },
];

/** The defaults, as in nbdkit. */
export function defaultSettings(): Settings {
  return { mode: 'auto', trackDirty: 'connection', byExportName: false };
}

/** Applies one `key=value`; throws an error naming the parameter when the value is not valid. The last one given wins. */
export function applyParam(settings: Settings, key: string, value: string): void {
  switch (key) {
    case 'multi-conn-mode':
      if (!(MODES as readonly string[]).includes(value)) throw new Error(`${key}=${value}: expected one of ${MODES.join(', ')}`);
      settings.mode = value as Mode;
      return;
    case 'multi-conn-track-dirty': {
      const level = TRACK_DIRTY[value];
      if (level === undefined) throw new Error(`${key}=${value}: expected connection (or conn), fast or off`);
      settings.trackDirty = level;
      return;
    }
    case 'multi-conn-exportname':
    case 'multi-conn-export-name':
      settings.byExportName = parseBool(key, value);
      return;
    default:
      throw new Error(`${key}: not a parameter of the multi-conn filter`);
  }
}
