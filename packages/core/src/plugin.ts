import type { ConnectionInfo } from './context.js';
import type { PluginHandle } from './handle.js';
import type { LayerDefinition } from './layer.js';
import type { Host } from './logger.js';
import type { MaybePromise } from './maybe-promise.js';
import type { ClientInfo, ExportInfo } from './next.js';

/** A plugin: the bottom layer, which provides the bytes. */
export interface Plugin<H extends PluginHandle = PluginHandle> extends LayerDefinition {
  /** Set by {@link definePlugin}. */
  readonly kind: 'plugin';
  /**
   * Set when the plugin takes keys it does not declare (a script's own
   * parameters): a `key=value` no layer declares goes to its config hook, in
   * order, instead of being refused. Says what those keys are, for `--help`.
   */
  readonly otherParams?: string;
  /**
   * Lines of the plugin's own for `--dump-plugin` (`key=value`, a line each),
   * asked after the command line's parameters were given to config (as
   * nbdkit, without configComplete).
   */
  dumpPlugin?(): MaybePromise<string>;
  /** After configuration, before the server listens. */
  ready?(host: Host): MaybePromise<void>;
  /** When a client connects, before the handshake. Throw to refuse it. */
  preconnect?(client: ClientInfo): MaybePromise<void>;
  /** The exports to list for NBD_OPT_LIST. Default: the default export only. */
  listExports?(client: ClientInfo): MaybePromise<readonly ExportInfo[]>;
  /** The name the empty export name stands for. Default: ''. */
  defaultExport?(client: ClientInfo): MaybePromise<string>;
  /** Opens a context for `info.exportName`. Throw ENOENT for an unknown export. */
  open(info: ConnectionInfo): MaybePromise<H>;
}
