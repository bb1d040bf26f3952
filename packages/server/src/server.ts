import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { errorMessage, type FilterDefinition, type Host, type PluginDefinition } from '@nbdkit-ts/core';
import { Connection } from './connection/connection.js';
import { Serializer } from './connection/serializer.js';
import type { ServerCore } from './connection/server-core.js';
import { checkLayer, loadLayer } from './loader/load-layer.js';
import { createLogger, type LogSink } from './log/logger.js';
import type { LoadedLayer } from './stack/loaded-layer.js';
import { routeParams } from './stack/params.js';
import type { Scope } from './stack/scope.js';
import { Stack } from './stack/stack.js';

/** How to build a server. */
export interface ServerOptions {
  /** The plugin: a definition, or a name or path to resolve (`file`, `./my-plugin.js`). */
  readonly plugin: PluginDefinition | string;
  /** Filters, outermost first: definitions, or names or paths to resolve. */
  readonly filters?: readonly (FilterDefinition | string)[];
  /** Parameters as on the command line: `key=value`, or bare words for the plugin's magic key. */
  readonly params?: readonly string[];
  /** Serve every export read-only (`-r`). */
  readonly readonly?: boolean;
  /** Log debug messages (`-v`). */
  readonly verbose?: boolean;
  /** Debug flags, `LAYER.FLAG=N` (`-D`). */
  readonly debugFlags?: readonly string[];
  /** Where log lines go; stderr by default. */
  readonly logSink?: LogSink;
  /** Folders to resolve layer names from, instead of the default search path. */
  readonly searchPath?: Iterable<string>;
}

/** Where to listen: a unix socket path, or a TCP port (and address). */
export type ListenTarget = { readonly socket: string } | { readonly port: number; readonly host?: string };

/** Where a server listens, once it does. */
export interface ListenAddress {
  readonly socket?: string;
  readonly port?: number;
  readonly host?: string;
  /** An NBD URI for clients (`nbd+unix:///?socket=...` or `nbd://host:port`). */
  readonly uri: string;
}

function parseDebugFlags(flags: readonly string[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const f of flags) {
    const m = /^([^.=]+)\.([^=]+)=(-?\d+)$/.exec(f);
    if (m === null) throw new Error(`-D ${f}: expected LAYER.FLAG=N`);
    const [, layer, flag, n] = m as unknown as [string, string, string, string];
    if (!out.has(layer)) out.set(layer, new Map());
    out.get(layer)?.set(flag, Number(n));
  }
  return out;
}

/**
 * An NBD server: a configured stack of layers, listening on any number of
 * sockets. Create it with {@link createServer}.
 */
export class NbdServer {
  private readonly connections = new Set<Connection>();
  private readonly listeners: { server: NetServer; socket?: string }[] = [];
  private readonly connectionLock = new Serializer();
  private readonly abort = new AbortController();
  private nextId = 1;
  private closing: Promise<void> | undefined;
  private readonly core: ServerCore;

  private constructor(
    readonly stack: Stack,
    options: ServerOptions,
    log: ReturnType<typeof createLogger>,
  ) {
    this.core = {
      stack,
      readonly: options.readonly === true,
      verbose: options.verbose === true,
      log,
      signal: this.abort.signal,
      requestLock: new Serializer(),
    };
  }

  /** Loads the layers, configures them and runs their ready hooks. */
  static async create(options: ServerOptions): Promise<NbdServer> {
    const verbose = options.verbose === true;
    const logOptions = { verbose, sink: options.logSink };
    const log = createLogger('', logOptions);
    const abort = new AbortController();
    const load = async (kind: 'plugin' | 'filter', x: PluginDefinition | FilterDefinition | string) =>
      typeof x === 'string' ? loadLayer(kind, x, options.searchPath) : { def: checkLayer(kind, x, 'embedded'), source: 'embedded' };
    const modules = [...(await Promise.all((options.filters ?? []).map((f) => load('filter', f)))), await load('plugin', options.plugin)];
    const debugFlags = parseDebugFlags(options.debugFlags ?? []);
    const layers: LoadedLayer[] = modules.map(({ def, source }, index) => {
      const layerLog = createLogger(def.name, logOptions);
      const flags = debugFlags.get(def.name) ?? new Map<string, number>();
      const host: Host = { log: layerLog, verbose, debugFlag: (n) => flags.get(n) ?? 0, signal: abort.signal };
      const logFor = (id: number | undefined) => (id === undefined ? layerLog : createLogger(`${def.name}[${id}]`, logOptions));
      return { def, index, name: def.name, source, log: layerLog, logFor, host, debugFlags: flags };
    });
    const routed = routeParams(
      layers.map((l) => l.def),
      options.params ?? [],
    );
    for (const p of routed) {
      const layer = layers[p.index] as LoadedLayer;
      try {
        await layer.def.config?.(p.key, p.value);
      } catch (e) {
        throw new Error(`${layer.name}: ${errorMessage(e)}`, { cause: e });
      }
    }
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as LoadedLayer;
      try {
        await layer.def.configComplete?.();
      } catch (e) {
        throw new Error(`${layer.name}: ${errorMessage(e)}`, { cause: e });
      }
    }
    const shared: Scope = { exportName: '', readonly: options.readonly === true, tls: false, signal: abort.signal, open: new Set(), shared: true, connectionId: undefined, log };
    const stack = new Stack(layers, shared);
    await stack.ready();
    const server = new NbdServer(stack, options, log);
    server.abort.signal.addEventListener('abort', () => abort.abort());
    return server;
  }

  /** Starts listening; resolves once the socket accepts connections. */
  async listen(target: ListenTarget): Promise<ListenAddress> {
    const server = createNetServer({ noDelay: true }, (socket) => this.accept(socket));
    if ('socket' in target) {
      rmSync(target.socket, { force: true });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(target.socket, () => resolve());
      });
      this.listeners.push({ server, socket: target.socket });
      return { socket: target.socket, uri: `nbd+unix:///?socket=${target.socket}` };
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(target.port, target.host, () => resolve());
    });
    this.listeners.push({ server });
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : target.port;
    const host = target.host ?? 'localhost';
    const uriHost = host.includes(':') ? `[${host}]` : host;
    return { port, host, uri: `nbd://${uriHost}:${port}` };
  }

  private accept(socket: Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const id = this.nextId++;
    const start = () => {
      const conn = new Connection(socket, this.core, id);
      this.connections.add(conn);
      return conn.finished.finally(() => this.connections.delete(conn));
    };
    if (this.stack.concurrency === 'serialize-connections') void this.connectionLock.run(start);
    else void start();
  }

  /** Connections being served now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, lets requests in flight finish, closes every context,
   * runs the cleanup hooks. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const l of this.listeners) {
        l.server.close();
        if (l.socket !== undefined) rmSync(l.socket, { force: true });
      }
      this.abort.abort();
      for (const c of this.connections) c.stop();
      await Promise.all([...this.connections].map((c) => c.finished));
      await this.stack.cleanup();
    })();
    return this.closing;
  }
}

/** Creates a server from plugin and filter definitions or names; see {@link ServerOptions}. */
export function createServer(options: ServerOptions): Promise<NbdServer> {
  return NbdServer.create(options);
}
