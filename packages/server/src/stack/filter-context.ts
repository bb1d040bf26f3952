import type { Backend, Context, Logger, Next, OpenOptions } from '@nbdkit-ts/core';
import { LayerContext, type Associated } from './layer-context.js';

/** The server's implementation of Context: a filter's view of one connection (or of one context it serves). */
export class FilterContext implements Context, Associated {
  next: LayerContext | undefined;

  constructor(
    readonly exportName: string,
    readonly readonly: boolean,
    readonly tls: boolean,
    readonly signal: AbortSignal,
    readonly log: Logger,
    readonly backend: Backend,
    private readonly flags: ReadonlyMap<string, number>,
    /** The layer beneath, to check that a Next passed to setNext belongs there. */
    private readonly belowIndex: number,
  ) {}

  debugFlag(name: string): number {
    return this.flags.get(name) ?? 0;
  }

  async openNext(options: Omit<OpenOptions, 'shared'> = {}): Promise<Next> {
    const next = await this.backend.open(options);
    const previous = this.setNext(next);
    await previous?.close();
    return next;
  }

  setNext(next: Next | undefined): Next | undefined {
    if (next !== undefined) {
      if (!(next instanceof LayerContext) || next.layer.index !== this.belowIndex) {
        throw new TypeError('setNext: the context was not opened on the layer beneath this filter');
      }
      if (next.closed) throw new TypeError('setNext: the context is closed');
    }
    const previous = this.next;
    this.next = next;
    return previous;
  }
}
