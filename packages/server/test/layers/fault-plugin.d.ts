import type { PluginDefinition } from '@nbdkit-ts/core';

/** Block numbers (4 KiB) of the fault plugin's export, and the fault each one triggers. */
export declare const FAULTS: {
  readonly THROW: number;
  readonly REJECT_STRING: number;
  readonly HANG: number;
  readonly ENOSPC: number;
  readonly EXTENT_GAP: number;
  readonly NO_EXTENTS: number;
  readonly FLOATING_REJECTION: number;
  readonly REJECT_UNDEFINED: number;
};
declare const plugin: PluginDefinition;
export default plugin;
