import type { Context } from './context.js';
import type { FilterHandle } from './handle.js';
import type { LayerDefinition } from './layer.js';
import type { Host } from './logger.js';
import type { MaybePromise } from './maybe-promise.js';
import type { Backend, ClientInfo, ExportInfo } from './next.js';

/** A filter: a layer between the server and the plugin that holds contexts on the layer beneath. */
export interface Filter<H extends FilterHandle = FilterHandle> extends LayerDefinition {
  /** Set by {@link defineFilter}. */
  readonly kind: 'filter';
  /** After configuration: `backend` is valid until cleanup; open shared contexts and start tasks here. */
  ready?(backend: Backend, host: Host): MaybePromise<void>;
  /**
   * When a client connects, before the handshake: throw to refuse the client.
   * The layers beneath check the client only when this calls
   * {@link Backend.preconnect}. Left out: the layers beneath check it.
   */
  preconnect?(client: ClientInfo, backend: Backend): MaybePromise<void>;
  /** Default: the list of the layer beneath. */
  listExports?(client: ClientInfo, backend: Backend): MaybePromise<readonly ExportInfo[]>;
  /** Default: the default export of the layer beneath. */
  defaultExport?(client: ClientInfo, backend: Backend): MaybePromise<string>;
  /**
   * Opens the filter for a connection. Most filters call `context.openNext()`
   * here to associate a context on the layer beneath; a filter that serves
   * from shared contexts does not. Left out: `openNext()` and an empty handle.
   */
  open?(context: Context): MaybePromise<H>;
}
