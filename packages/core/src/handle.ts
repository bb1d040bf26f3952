import type { Capabilities } from './capabilities.js';
import type { DataMethods } from './data-methods.js';
import type { MaybePromise } from './maybe-promise.js';
import type { SendFrom } from './send-from.js';

/**
 * What a layer's open hook returns: the per-connection (or per-context) state
 * and the calls the layer implements. Lifecycle: open -> prepare -> data calls
 * -> finalize -> close.
 */
export interface Handle extends Partial<DataMethods>, Partial<SendFrom> {
  /** After open, before any data call; for a filter, after the Next below was prepared. */
  prepare?(): MaybePromise<void>;
  /** Before close, while the Next below can still be used (write back, leave groups). */
  finalize?(): MaybePromise<void>;
  /** Releases the handle's resources. */
  close?(): MaybePromise<void>;
}

/**
 * Capabilities a plugin reports. Only `size` is required; the rest default
 * from the calls the handle implements: canWrite if pwrite, canFlush if flush,
 * canTrim if trim, canZero 'native' if zero else 'emulate' when writable,
 * canFua 'emulate' when flush exists, canExtents if extents, canCache 'native'
 * if cache else 'none', canMultiConn false, isRotational false.
 */
export type PluginCapabilities = Partial<Capabilities> & {
  /** Size of the export in bytes. */
  readonly size: bigint;
};

/** A plugin's handle: it must say what it can do. */
export interface PluginHandle extends Handle {
  /** Asked once per context, after prepare. */
  capabilities(): MaybePromise<PluginCapabilities>;
}

/** A filter's handle. Calls it leaves out pass through to the associated Next. */
export interface FilterHandle extends Handle {
  /**
   * Asked once per context, after prepare. `below` is the associated Next's
   * capabilities (undefined when the filter associated none); what is
   * returned overrides it. Left out: `below` passes through.
   */
  capabilities?(below: Capabilities | undefined): MaybePromise<Partial<Capabilities>>;
}
