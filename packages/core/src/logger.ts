/** Where a layer writes messages. The server prefixes them with the layer name. */
export interface Logger {
  /** Shown only with `-v`. */
  debug(message: string): void;
  /** Always shown: what an operator wants to see in normal running (a periodic report, a mode chosen). */
  info(message: string): void;
  /** Always shown. */
  warn(message: string): void;
  /** Always shown. */
  error(message: string): void;
}

/**
 * Work a layer runs in the background, outside any request: a scan, a
 * prefetch, a reclaim. It stops when `signal` is aborted (at shutdown).
 */
export type BackgroundTask = (signal: AbortSignal) => Promise<void>;

/** Services of the server that every layer may use from its ready hook on. */
export interface Host {
  /** Messages of this layer. */
  readonly log: Logger;
  /** Whether the server runs with `-v`. */
  readonly verbose: boolean;
  /** The value of a `-D LAYER.FLAG=N` debug flag of this layer, 0 when unset. */
  debugFlag(name: string): number;
  /** Aborted when the server shuts down: background tasks stop on it. */
  readonly signal: AbortSignal;
  /**
   * Runs `task` in the background. At shutdown, once every connection has
   * closed, the server aborts the task's signal and waits for the task to
   * settle before it closes any shared context or runs any cleanup hook, so
   * a task may use shared contexts until it returns (a filter that holds
   * state to write back through a shared context does it there). A
   * rejection is logged (an abort is not). Throws once the tasks were
   * stopped. `name` appears in messages.
   */
  background(name: string, task: BackgroundTask): void;
  /**
   * Asks the server to shut down, as SIGTERM does (nbdkit_shutdown): it
   * stops accepting clients, answers what is in flight and exits. Returns at
   * once.
   */
  shutdown(): void;
}
