import type { Backend, Context, Logger, Next, OpenOptions } from '@nbdkit-ts/core';
import { LayerContext, type Associated } from './layer-context.js';
import type { LoadedLayer } from './loaded-layer.js';
import type { Scope } from './scope.js';

/** The server's implementation of Context: a filter's view of one connection (or of one context it serves). */
export class FilterContext implements Context, Associated {
  next: LayerContext | undefined;
  readonly tls: boolean;
  readonly signal: AbortSignal;
  readonly log: Logger;

  constructor(
    /** The filter this context belongs to. */
    private readonly layer: LoadedLayer,
    readonly exportName: string,
    readonly readonly: boolean,
    /** The scope the filter's context was opened in; the Next associated with it must be of the same one. */
    private readonly scope: Scope,
    readonly backend: Backend,
  ) {
    this.tls = scope.tls;
    this.signal = scope.signal;
    this.log = layer.logFor(scope.connectionId);
  }

  debugFlag(name: string): number {
    return this.layer.debugFlags.get(name) ?? 0;
  }

  disconnect(force: boolean): void {
    this.scope.disconnect(force);
  }

  async openNext(options: Omit<OpenOptions, 'shared'> = {}): Promise<Next> {
    // Defaults from this context, which may have been opened for another export or read-only.
    const next = await this.backend.open({ ...options, exportName: options.exportName ?? this.exportName, readonly: options.readonly ?? this.readonly });
    const previous = this.setNext(next);
    await previous?.close();
    return next;
  }

  setNext(next: Next | undefined): Next | undefined {
    if (next !== undefined) {
      const refuse = (why: string) => new TypeError(`${this.layer.name}: setNext: ${why}`);
      if (!(next instanceof LayerContext) || next.layer.index !== this.layer.index + 1) throw refuse('the context was not opened on the layer beneath this filter');
      if (next.closed) throw refuse('the context is closed');
      if (next.scope !== this.scope) {
        throw refuse(`the context belongs to ${next.scope.name}, not to ${this.scope.name}: only a context opened with this context's backend, without shared, can be associated`);
      }
    }
    const previous = this.next;
    this.next = next;
    return previous;
  }
}
