import type { Backend, ClientInfo, Concurrency, ExportInfo, MaybePromise, Next, OpenOptions } from '@nbdkit-ts/core';
import type { Scope } from './scope.js';
import type { Stack } from './stack.js';

/**
 * The layer at `index` as seen from the filter above it. Bound to a
 * connection's scope, or to none (the backend given to the ready hook), in
 * which case only shared contexts can be opened.
 */
export class StackBackend implements Backend {
  readonly name: string;
  readonly concurrency: Concurrency;

  constructor(
    private readonly stack: Stack,
    private readonly index: number,
    private readonly scope: Scope | undefined,
  ) {
    this.name = stack.layers[index]?.name ?? '?';
    this.concurrency = stack.concurrencyFrom(index);
  }

  open(options: OpenOptions = {}): Promise<Next> {
    const scope = options.shared === true ? this.stack.sharedScope : this.scope;
    if (scope === undefined) {
      return Promise.reject(new Error(`${this.name}: outside a connection only shared contexts can be opened (open({ shared: true }))`));
    }
    return this.stack.open(this.index, {
      exportName: options.exportName ?? scope.exportName,
      readonly: options.readonly ?? scope.readonly,
      scope,
      signal: options.signal,
    });
  }

  preconnect(client: ClientInfo): Promise<void> {
    return this.stack.preconnect(client, this.index);
  }

  listExports(client: ClientInfo): MaybePromise<readonly ExportInfo[]> {
    return this.stack.listExports(this.index, client);
  }

  defaultExport(client: ClientInfo): MaybePromise<string> {
    return this.stack.defaultExport(this.index, client);
  }
}
