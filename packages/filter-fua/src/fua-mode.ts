import { nbdError, type Capabilities, type Flags, Flag, type ParamSpec } from '@nbdkit-ts/core';

/**
 * How FUA and flush are handled:
 * - `none`: FUA is not advertised; flush passes through;
 * - `emulate`: FUA is advertised as emulated, and done by a flush after the call;
 * - `native`: FUA is advertised as native and passed on;
 * - `force`: every write, trim and zero goes beneath with FUA, and flush does nothing;
 * - `pass`: FUA and flush as the layer beneath has them;
 * - `discard`: FUA is advertised and dropped, and flush does nothing (unsafe).
 */
export type FuaMode = 'none' | 'emulate' | 'native' | 'force' | 'pass' | 'discard';

const MODES: readonly FuaMode[] = ['none', 'emulate', 'native', 'force', 'pass', 'discard'];

/** The filter's parameter, with nbdkit's name. */
export const PARAMS: readonly ParamSpec[] = [
  {
    name: 'fuamode',
    description: "'none' (default): FUA not advertised, 'emulate': FUA by flush, 'native': FUA passed on, 'force': FUA on every write, 'pass': unchanged, 'discard': FUA and flush dropped (unsafe)",
  },
];

/** Parses `fuamode=`; throws a message naming it when the mode is unknown. */
export function parseFuaMode(key: string, value: string): FuaMode {
  if (!(MODES as readonly string[]).includes(value)) throw new Error(`${key}=${value}: unknown mode: expected ${MODES.slice(0, -1).join(', ')} or ${MODES.at(-1)}`);
  return value as FuaMode;
}

/**
 * What the export advertises under `mode` over a writable layer beneath
 * (named `layer`) that advertises `below`. Throws EINVAL when the mode
 * needs what the layer beneath lacks: flush for `emulate`, FUA for `native`
 * and `force`.
 */
export function fuaCapabilities(mode: FuaMode, below: Capabilities, layer: string): Partial<Capabilities> {
  if (mode === 'emulate' && !below.canFlush) throw nbdError('EINVAL', `fua: fuamode=emulate needs the layer beneath (${layer}) to support flush, and it does not`);
  if ((mode === 'native' || mode === 'force') && below.canFua === 'none') {
    throw nbdError('EINVAL', `fua: fuamode=${mode} needs the layer beneath (${layer}) to support FUA, and it does not`);
  }
  switch (mode) {
    case 'none':
      return { canFua: 'none' };
    case 'emulate':
      return { canFua: 'emulate' };
    case 'native':
      return { canFua: 'native' };
    case 'force':
    case 'discard':
      // Flush does nothing here, so it can be offered whatever the layer beneath has.
      return { canFua: 'native', canFlush: true };
    case 'pass':
      return {};
  }
}

/** The flags a write, trim or zero goes beneath with under `mode`. */
export function flagsBeneath(mode: FuaMode, flags: Flags): Flags {
  if (mode === 'force') return flags | Flag.FUA;
  if (mode === 'emulate' || mode === 'discard') return flags & ~Flag.FUA;
  return flags;
}
