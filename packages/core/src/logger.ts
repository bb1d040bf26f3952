/** Where a layer writes messages. The server prefixes them with the layer name. */
export interface Logger {
  /** Shown only with `-v`. */
  debug(message: string): void;
  /** Always shown. */
  warn(message: string): void;
  /** Always shown. */
  error(message: string): void;
}

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
}
