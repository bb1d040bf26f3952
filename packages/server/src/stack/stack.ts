import {
  errorMessage,
  nbdError,
  stricterConcurrency,
  type ClientInfo,
  type Concurrency,
  type ExportInfo,
  type Filter,
  type FilterHandle,
  type Handle,
  type Plugin,
  type PluginHandle,
} from '@nbdkit-ts/core';
import { StackBackend } from './backend.js';
import { checkCapabilities, pluginDefaults, readonlyCapabilities } from './capabilities.js';
import { FilterContext } from './filter-context.js';
import { LayerContext, layerFault } from './layer-context.js';
import type { LoadedLayer } from './loaded-layer.js';
import type { Scope } from './scope.js';

/** Where and how to open a context. */
export interface OpenRequest {
  readonly exportName: string;
  readonly readonly: boolean;
  readonly scope: Scope;
  /** The opener's own signal (OpenOptions.signal). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * A stack of layers: filters outermost first, the plugin last. Runs the
 * lifecycle hooks in nbdkit's order and opens contexts on any layer.
 */
export class Stack {
  readonly concurrency: Concurrency;
  private readyBackends: StackBackend[] = [];
  /** Opens under way, and closes of contexts that arrived after their opener gave up on them. */
  private readonly settling = new Set<Promise<unknown>>();

  constructor(
    readonly layers: readonly LoadedLayer[],
    /** The scope shared contexts are opened in, tied to the server's lifetime. */
    readonly sharedScope: Scope,
  ) {
    this.concurrency = this.concurrencyFrom(0);
  }

  /** The strictest concurrency declared by the layer at `index` and the layers beneath it. */
  concurrencyFrom(index: number): Concurrency {
    let c: Concurrency = 'parallel';
    for (const l of this.layers.slice(index)) c = stricterConcurrency(c, l.def.concurrency ?? 'parallel');
    return c;
  }

  get plugin(): LoadedLayer {
    return this.layers[this.layers.length - 1] as LoadedLayer;
  }

  /** Calls every layer's ready hook, plugin first (as nbdkit does, innermost first). */
  async ready(): Promise<void> {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i] as LoadedLayer;
      if (layer.def.kind === 'plugin') {
        await layer.def.ready?.(layer.host);
      } else {
        const backend = new StackBackend(this, i + 1, undefined);
        this.readyBackends[i] = backend;
        await layer.def.ready?.(backend, layer.host);
      }
    }
  }

  /**
   * After the shared scope ended and background tasks settled: waits for the
   * opens still under way (each closes what it opens), closes the shared
   * contexts left open, outermost first, then calls every layer's cleanup
   * hook, outermost first.
   */
  async cleanup(): Promise<void> {
    while (this.settling.size > 0) await Promise.all(this.settling);
    await this.sharedScope.closeAll();
    for (const layer of this.layers) {
      try {
        await layer.def.cleanup?.();
      } catch (e) {
        layer.log.error(`cleanup: ${errorMessage(e)}`);
      }
    }
  }

  /** Contexts open now, per layer, outermost first. */
  census(): { readonly layer: string; readonly open: number }[] {
    return this.layers.map((l) => ({ layer: l.name, open: l.census.open }));
  }

  private backendFor(index: number): StackBackend {
    return this.readyBackends[index - 1] ?? new StackBackend(this, index, undefined);
  }

  /**
   * The preconnect check of the layer at `index`: a filter's hook decides
   * whether the layers beneath check too (Backend.preconnect); without one,
   * the check goes on to the layer beneath.
   */
  async preconnect(client: ClientInfo, index = 0): Promise<void> {
    const layer = this.layers[index] as LoadedLayer;
    if (layer.def.kind === 'plugin') {
      await layer.def.preconnect?.(client);
    } else if (layer.def.preconnect !== undefined) {
      await layer.def.preconnect(client, this.backendFor(index + 1));
    } else {
      await this.preconnect(client, index + 1);
    }
  }

  async listExports(index: number, client: ClientInfo): Promise<readonly ExportInfo[]> {
    const layer = this.layers[index] as LoadedLayer;
    if (layer.def.kind === 'plugin') {
      if (layer.def.listExports !== undefined) return layer.def.listExports(client);
      return [{ name: await this.defaultExport(index, client) }];
    }
    if (layer.def.listExports !== undefined) return layer.def.listExports(client, this.backendFor(index + 1));
    return this.listExports(index + 1, client);
  }

  async defaultExport(index: number, client: ClientInfo): Promise<string> {
    const layer = this.layers[index] as LoadedLayer;
    if (layer.def.kind === 'plugin') return (await layer.def.defaultExport?.(client)) ?? '';
    if (layer.def.defaultExport !== undefined) return layer.def.defaultExport(client, this.backendFor(index + 1));
    return this.defaultExport(index + 1, client);
  }

  /**
   * Opens and prepares a context on the layer at `index`; capabilities are
   * asked and cached. Refused once the scope has ended or the opener's
   * signal is aborted; when either happens while the layer opens, the open
   * fails at once and the context is closed as it arrives.
   */
  open(index: number, req: OpenRequest): Promise<LayerContext> {
    const layer = this.layers[index];
    if (layer === undefined) return Promise.reject(new Error(`no layer at ${index}`));
    const { scope, signal } = req;
    const refusal = (): Error =>
      signal?.aborted === true
        ? nbdError('ECANCELED', `${layer.name}: open abandoned by its caller`)
        : nbdError('ESHUTDOWN', `${layer.name}: cannot open a context: ${scope.endedReason}`);
    if (scope.signal.aborted || signal?.aborted === true) return Promise.reject(refusal());
    const opening = layer.def.kind === 'plugin' ? this.openPlugin(layer, layer.def, req) : this.openFilter(layer, index, layer.def, req);
    this.track(opening);
    return new Promise<LayerContext>((resolve, reject) => {
      const signals = signal === undefined ? [scope.signal] : [scope.signal, signal];
      const abandon = (): void => {
        for (const s of signals) s.removeEventListener('abort', abandon);
        reject(refusal());
      };
      for (const s of signals) s.addEventListener('abort', abandon);
      opening.then(
        (ctx) => {
          for (const s of signals) s.removeEventListener('abort', abandon);
          if (!scope.signal.aborted && signal?.aborted !== true) {
            resolve(ctx);
            return;
          }
          reject(refusal());
          this.track(ctx.close().catch((e: unknown) => layer.logFor(scope.connectionId).error(`closing a context opened too late: ${errorMessage(e)}`)));
        },
        (e: unknown) => {
          for (const s of signals) s.removeEventListener('abort', abandon);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what the layer rejected with
          reject(e);
        },
      );
    });
  }

  private track(p: Promise<unknown>): void {
    const settled = p.then(
      () => {},
      () => {},
    );
    this.settling.add(settled);
    void settled.finally(() => this.settling.delete(settled));
  }

  private async openPlugin(layer: LoadedLayer, def: Plugin, req: OpenRequest): Promise<LayerContext> {
    const { scope } = req;
    let opened: unknown;
    try {
      opened = await def.open({
        exportName: req.exportName,
        readonly: req.readonly,
        tls: scope.tls,
        signal: scope.signal,
        log: layer.logFor(scope.connectionId),
        debugFlag: (name) => layer.debugFlags.get(name) ?? 0,
        disconnect: (force) => scope.disconnect(force),
      });
    } catch (e) {
      throw layerFault(layer, 'open', e, scope.connectionId);
    }
    if (!isObject(opened)) throw layerFault(layer, 'open', new TypeError(`returned ${String(opened)}, not a handle`), scope.connectionId);
    const handle = opened as PluginHandle;
    const ctx = new LayerContext(layer, req.exportName, req.readonly, scope, handle, undefined);
    return this.prepare(ctx, handle, async () => {
      const own = await handle.capabilities();
      return { ...pluginDefaults(handle), ...own };
    });
  }

  private async openFilter(layer: LoadedLayer, index: number, def: Filter, req: OpenRequest): Promise<LayerContext> {
    const { scope } = req;
    const fctx = new FilterContext(layer, req.exportName, req.readonly, scope, new StackBackend(this, index + 1, scope));
    let opened: unknown;
    try {
      if (def.open !== undefined) {
        opened = await def.open(fctx);
      } else {
        await fctx.openNext();
        opened = {};
      }
    } catch (e) {
      await fctx.next?.close();
      throw layerFault(layer, 'open', e, scope.connectionId);
    }
    if (!isObject(opened)) {
      await fctx.next?.close();
      throw layerFault(layer, 'open', new TypeError(`returned ${String(opened)}, not a handle`), scope.connectionId);
    }
    const handle = opened as FilterHandle;
    const ctx = new LayerContext(layer, req.exportName, req.readonly, scope, handle, fctx);
    return this.prepare(ctx, handle, async () => {
      const below = fctx.next?.capabilities;
      const own = (await handle.capabilities?.(below)) ?? {};
      return { ...below, ...own };
    });
  }

  private async prepare(ctx: LayerContext, handle: Handle, capabilities: () => Promise<object>): Promise<LayerContext> {
    let step = 'prepare';
    try {
      await handle.prepare?.();
      ctx.prepared = true;
      step = 'capabilities';
      const caps = checkCapabilities(ctx.layer.name, await capabilities());
      // A layer that cannot write advertises nothing that writes, as a read-only connection (as nbdkit).
      ctx.capabilities = ctx.readonly || !caps.canWrite ? readonlyCapabilities(caps) : caps;
      return ctx;
    } catch (e) {
      await ctx.close().catch(() => {});
      throw layerFault(ctx.layer, step, e, ctx.scope.connectionId);
    }
  }
}

/** Whether an open hook answered an object: a layer written in JavaScript may answer anything. */
function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
