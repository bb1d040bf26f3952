import type { Filter, Host, Logger, Plugin } from '@nbdkit-ts/core';

/** A plugin or filter in a stack, with what the server keeps about it. */
export interface LoadedLayer {
  readonly def: Plugin | Filter;
  /** Position in the stack: 0 is the outermost filter, the plugin is last. */
  readonly index: number;
  readonly name: string;
  /** Where it was loaded from (a path), or 'embedded'. */
  readonly source: string;
  readonly log: Logger;
  /** Messages of this layer about one connection (`NAME[ID]:`, as nbdkit), or about none. */
  logFor(connectionId: number | undefined): Logger;
  readonly host: Host;
  /** `-D NAME.FLAG=N` values. */
  readonly debugFlags: ReadonlyMap<string, number>;
  /** Contexts of this layer open now, in every scope. */
  readonly census: { open: number };
}
