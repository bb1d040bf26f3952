import type { ApiVersion } from './api-version.js';
import type { Concurrency } from './concurrency.js';
import type { MaybePromise } from './maybe-promise.js';
import type { ParamSpec } from './params.js';

/** What plugins and filters have in common. */
export interface LayerDefinition {
  /** The API version the layer was written for, as a literal. */
  readonly apiVersion: ApiVersion;
  /** Short name, as used on the command line (`file`, `reopen`). */
  readonly name: string;
  /**
   * The layer's version, for a layer that is a module outside any package. A
   * layer in a package has the version of its package.json: `--version`,
   * `--list`, `--help` and `--dump-plugin` show that one.
   */
  readonly version?: string;
  /** One line for `--help` and `--dump-plugin`. */
  readonly description?: string;
  /** The `key=value` parameters the layer accepts. */
  readonly params?: readonly ParamSpec[];
  /**
   * The concurrency the layer can take. Defaults to 'parallel'. The server
   * reads it after configComplete, so a getter may answer from the
   * configuration (a script that says what it can take).
   */
  readonly concurrency?: Concurrency;
  /** One call per parameter given on the command line, in order. Throw to reject. */
  config?(key: string, value: string): MaybePromise<void>;
  /** After the last config call: check that required parameters were given. */
  configComplete?(): MaybePromise<void>;
  /** At shutdown, after every connection closed: stop tasks, close shared contexts. */
  cleanup?(): MaybePromise<void>;
}
