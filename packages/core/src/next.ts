import type { Capabilities } from './capabilities.js';
import type { Concurrency } from './concurrency.js';
import type { DataMethods } from './data-methods.js';
import type { MaybePromise } from './maybe-promise.js';
import type { SendFrom } from './send-from.js';

/**
 * An open, prepared context on the layer beneath a filter. Its data calls are
 * checked by the server (range, flags against capabilities, read-only) and
 * what the layer lacks is emulated (zero by writes, FUA by flush, cache by
 * reads), so a filter may call any of them.
 */
export interface Next extends DataMethods, SendFrom {
  /** The export name this context was opened with. */
  readonly exportName: string;
  /** Whether this context was opened read-only. */
  readonly readonly: boolean;
  /** Capabilities, asked once when the context was prepared. */
  readonly capabilities: Capabilities;
  /** True once `close` has begun. */
  readonly closed: boolean;
  /** Finalizes and closes the context, and every context it holds below. Idempotent. */
  close(): Promise<void>;
}

/** How to open a context with {@link Backend.open}. */
export interface OpenOptions {
  /**
   * Open read-only. Defaults to the read-only state of the scope the context
   * opens in, which is the server's (`-r`): the connection's scope, or with
   * `shared` the server's shared scope. It is not taken from the context
   * whose backend is called: a filter context opened read-only passes nothing
   * on here ({@link Context.openNext} defaults to its own context's state).
   */
  readonly readonly?: boolean;
  /**
   * The export name to open. Defaults to the export name of the connection
   * (after default-export resolution); with `shared`, or on a backend outside
   * any connection, to ''. Like `readonly`, it is not taken from the context
   * whose backend is called.
   */
  readonly exportName?: string;
  /**
   * A shared context: not tied to any connection, it may be opened outside one
   * (in the ready hook or a background task) and outlives connections. The
   * opener closes it, in cleanup at the latest.
   */
  readonly shared?: boolean;
  /**
   * Abandons the open when aborted: the promise rejects at once (ECANCELED)
   * and a context the layer beneath opens anyway is closed as it arrives.
   * Opens also fail once the connection they belong to has ended, or, for
   * shared contexts, once the server's shutdown has begun (ESHUTDOWN).
   */
  readonly signal?: AbortSignal;
}

/** An export a layer offers, as listed by NBD_OPT_LIST. */
export interface ExportInfo {
  /** The export name clients ask for. */
  readonly name: string;
  /** What the export is, in words, for clients that ask. */
  readonly description?: string;
}

/** What a layer is told about a client before it picks an export. */
export interface ClientInfo {
  /** Whether the server runs read-only (`-r`). */
  readonly readonly: boolean;
  /** Whether the connection runs over TLS. */
  readonly tls: boolean;
}

/** The layer beneath a filter. Valid from the filter's ready hook until its cleanup. */
export interface Backend {
  /** Name of the layer beneath (a filter or the plugin). */
  readonly name: string;
  /**
   * The strictest concurrency declared by the layer beneath and every layer
   * under it: what those layers can take, whatever the layers above declare.
   */
  readonly concurrency: Concurrency;
  /** Opens and prepares a new context on the layer beneath. The caller closes it. */
  open(options?: OpenOptions): Promise<Next>;
  /**
   * Runs the preconnect check of the layer beneath, which runs those of the
   * layers under it in turn: rejects when one of them refuses the client.
   * A filter's {@link Filter.preconnect} calls it to let the layers beneath
   * check the client too; when the filter does not call it, their checks do
   * not run.
   */
  preconnect(client: ClientInfo): MaybePromise<void>;
  /** The exports of the layer beneath. */
  listExports(client: ClientInfo): MaybePromise<readonly ExportInfo[]>;
  /** The name the empty export name stands for, in the layer beneath. */
  defaultExport(client: ClientInfo): MaybePromise<string>;
}
