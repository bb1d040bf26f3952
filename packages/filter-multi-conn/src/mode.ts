import { nbdError, type Capabilities, type Concurrency } from '@nbdkit-ts/core';
import type { Mode } from './settings.js';

/** The mode a context runs in once `auto` is resolved. */
export type ResolvedMode = Exclude<Mode, 'auto'>;

/**
 * Resolves the configured mode for one context, from what the layer beneath
 * can do. `auto` is `disable` when the layers beneath serialize connections
 * (multi-conn cannot help) or cannot flush (it cannot be emulated), `plugin`
 * when the context already supports multi-conn, and `emulate` otherwise.
 * Throws when `emulate` is asked for and the layer beneath cannot flush.
 */
export function resolveMode(mode: Mode, below: Capabilities, concurrency: Concurrency, belowName: string): ResolvedMode {
  if (mode === 'auto') {
    if (concurrency === 'serialize-connections') return 'disable';
    if (below.canMultiConn) return 'plugin';
    return below.canFlush ? 'emulate' : 'disable';
  }
  if (mode === 'emulate' && !below.canFlush) {
    throw nbdError('EINVAL', `multi-conn-mode=emulate needs flush, but "${belowName}" beneath cannot flush`);
  }
  return mode;
}

/**
 * What a context advertises in a mode: multi-conn as the mode says, and FUA
 * as emulated where the filter turns it into a flush of every context.
 */
export function advertised(mode: ResolvedMode, below: Capabilities): Pick<Capabilities, 'canMultiConn' | 'canFua'> {
  const canMultiConn = mode === 'emulate' || mode === 'unsafe' || (mode === 'plugin' && below.canMultiConn);
  const canFua = mode === 'emulate' && below.canFua === 'native' ? 'emulate' : below.canFua;
  return { canMultiConn, canFua };
}
