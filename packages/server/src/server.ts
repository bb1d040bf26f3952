import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { errorMessage, Mutex, type FilterDefinition, type Host, type PluginDefinition } from '@nbdkit-ts/core';
import { Admission } from './limits/admission.js';
import { Connection } from './connection/connection.js';
import { DEFAULT_LIMITS, MIN_BUFFER, MIN_CONNECTION_BUFFER, type Limits } from './limits/limits.js';
import { BufferPool } from './limits/buffer-pool.js';
import { ByteBudget } from './limits/byte-budget.js';
import type { ServerState } from './server-state.js';
import { loadTls, type TlsOptions } from './tls/load-tls.js';
import { checkLayer, loadLayer } from './loader/load-layer.js';
import { createLogger, type LogSink } from './log/logger.js';
import { removeFile } from './remove-file.js';
import type { LoadedLayer } from './stack/loaded-layer.js';
import { configure } from './stack/configure.js';
import { BackgroundTasks } from './stack/background-tasks.js';
import { Scope } from './stack/scope.js';
import { Stack } from './stack/stack.js';
import { HANDSHAKE_FLAGS } from './protocol/handshake.js';

/** How to build a server. */
export interface ServerOptions {
  /** The plugin: a definition, or a name or path to resolve (`file`, `./my-plugin.js`). */
  readonly plugin: PluginDefinition | string;
  /** Filters, outermost first: definitions, or names or paths to resolve. */
  readonly filters?: readonly (FilterDefinition | string)[] | undefined;
  /** Parameters as on the command line: `key=value`, or bare words for the plugin's magic key. */
  readonly params?: readonly string[] | undefined;
  /** Serve every export read-only (`-r`). */
  readonly readonly?: boolean | undefined;
  /** Log debug messages (`-v`). */
  readonly verbose?: boolean | undefined;
  /** Debug flags, `LAYER.FLAG=N` (`-D`). */
  readonly debugFlags?: readonly string[] | undefined;
  /** Where log lines go; stderr by default. */
  readonly logSink?: LogSink | undefined;
  /** Folders to resolve layer names from, instead of the default search path. */
  readonly searchPath?: Iterable<string> | undefined;
  /** TLS (`--tls`, `--tls-certificates`, `--tls-verify-peer`, `--tls-psk`); off by default. */
  readonly tls?: TlsOptions | undefined;
  /** Seconds a client may take in the handshake, the layers' answers not counted (`--handshake-timeout`, default 5; 0: no limit). */
  readonly handshakeTimeout?: number | undefined;
  /** Seconds a call into the stack may take before its request fails with EIO (`--request-timeout`; default: no limit). */
  readonly requestTimeout?: number | undefined;
  /** Seconds close() waits for requests in flight and cleanup before dropping them (`--shutdown-timeout`, default 10). */
  readonly shutdownTimeout?: number | undefined;
  /**
   * Called when a layer asks the server to shut down (Host.shutdown); the
   * `nbdkit-ts` command stops as on SIGTERM. Default: the server closes.
   */
  readonly onShutdownRequest?: (() => void) | undefined;
  /**
   * The handshake flags to advertise, as a mask of fixed newstyle (1) and no
   * zeroes (2) (`--mask-handshake`; default both): 0 makes the server look
   * like an old one, for testing clients.
   */
  readonly handshakeFlagsMask?: number | undefined;
  /** Whether clients may negotiate structured replies (default true; `--no-sr`: false, as for an old server). */
  readonly structuredReplies?: boolean | undefined;
  /** Connections served at once (`--max-connections`, default 1024); more are refused. */
  readonly maxConnections?: number | undefined;
  /**
   * Requests of one connection handed to the stack at once (`-t`, nbdkit's
   * threads per connection; default 256); the connection reads the next ones
   * as these finish.
   */
  readonly maxRequestsInFlight?: number | undefined;
  /** Bytes of request payload and read data held for the whole server (default 256 MiB, at least 64 MiB). */
  readonly maxBuffer?: number | undefined;
  /** Bytes of request payload and read data held for one connection (default 128 MiB, at least 65 MiB). */
  readonly maxConnectionBuffer?: number | undefined;
}

/** Checks the limits given to createServer; throws naming the option. */
function limitsFrom(o: ServerOptions): Limits {
  const seconds = (name: string, v: number | undefined, fallback: number): number => {
    if (v === undefined) return fallback;
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name}: ${v} is not a number of seconds (0 or more)`);
    return Math.round(v * 1000);
  };
  const count = (name: string, v: number | undefined, fallback: number, min: number): number => {
    if (v === undefined) return fallback;
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name}: ${v} is not an integer of at least ${min}`);
    return v;
  };
  return {
    handshakeTimeout: seconds('handshakeTimeout', o.handshakeTimeout, DEFAULT_LIMITS.handshakeTimeout),
    requestTimeout: seconds('requestTimeout', o.requestTimeout, DEFAULT_LIMITS.requestTimeout),
    shutdownTimeout: seconds('shutdownTimeout', o.shutdownTimeout, DEFAULT_LIMITS.shutdownTimeout),
    maxConnections: count('maxConnections', o.maxConnections, DEFAULT_LIMITS.maxConnections, 1),
    maxRequestsInFlight: count('maxRequestsInFlight', o.maxRequestsInFlight, DEFAULT_LIMITS.maxRequestsInFlight, 1),
    maxBuffer: count('maxBuffer', o.maxBuffer, DEFAULT_LIMITS.maxBuffer, MIN_BUFFER),
    maxConnectionBuffer: count('maxConnectionBuffer', o.maxConnectionBuffer, DEFAULT_LIMITS.maxConnectionBuffer, MIN_CONNECTION_BUFFER),
  };
}

/** Refused connections answered at once; past this they are closed without a word. */
const MAX_REFUSING = 16;

/** Where to listen: a unix socket path, or a TCP port (and address). */
export type ListenTarget = { readonly socket: string } | { readonly port: number; readonly host?: string };

/** Where a server listens, once it does. */
export interface ListenAddress {
  readonly socket?: string;
  readonly port?: number;
  readonly host?: string;
  /** An NBD URI for clients (`nbd+unix:///?socket=...` or `nbd://host:port`; `nbds` with TLS). */
  readonly uri: string;
  /** Whether clients must or may use TLS. */
  readonly tls: boolean;
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
  private readonly admission: Admission;
  private readonly listeners: { server: NetServer; socket?: string }[] = [];
  private readonly connectionLock = new Mutex();
  private readonly abort = new AbortController();
  private nextId = 1;
  private closing: Promise<void> | undefined;
  private readonly state: ServerState;

  private constructor(
    readonly stack: Stack,
    private readonly tasks: BackgroundTasks,
    options: ServerOptions,
    log: ReturnType<typeof createLogger>,
    limits: Limits,
    tls: ServerState['tls'],
  ) {
    this.admission = new Admission(limits.maxConnections, MAX_REFUSING);
    this.state = {
      stack,
      readonly: options.readonly === true,
      noStructuredReplies: options.structuredReplies === false,
      handshakeFlags: HANDSHAKE_FLAGS & (options.handshakeFlagsMask ?? HANDSHAKE_FLAGS),
      verbose: options.verbose === true,
      log,
      signal: this.abort.signal,
      requestLock: new Mutex(),
      limits,
      budget: new ByteBudget(limits.maxBuffer),
      buffers: new BufferPool(),
      tls,
    };
  }

  /** The most buffer bytes held at once so far, and the bound. */
  get bufferUse(): { readonly peak: number; readonly limit: number } {
    return { peak: this.state.budget.peak, limit: this.state.budget.size };
  }

  /** Loads the layers, configures them and runs their ready hooks. */
  static async create(options: ServerOptions): Promise<NbdServer> {
    const verbose = options.verbose === true;
    const logOptions = { verbose, sink: options.logSink };
    const log = createLogger('', logOptions);
    const limits = limitsFrom(options);
    const tls = await loadTls(options.tls ?? { mode: 'off' });
    const abort = new AbortController();
    const tasks = new BackgroundTasks();
    /** A layer's shutdown request (Host.shutdown): made before the server exists, it waits for it. */
    const shutdown: { server?: NbdServer; pending: boolean } = { pending: false };
    const shutdownRequested = () => {
      if (options.onShutdownRequest !== undefined) options.onShutdownRequest();
      else if (shutdown.server !== undefined) void shutdown.server.close();
      else shutdown.pending = true;
    };
    const load = async (kind: 'plugin' | 'filter', x: PluginDefinition | FilterDefinition | string) =>
      typeof x === 'string' ? loadLayer(kind, x, options.searchPath) : { def: checkLayer(kind, x, 'embedded'), source: 'embedded' };
    const modules = [...(await Promise.all((options.filters ?? []).map((f) => load('filter', f)))), await load('plugin', options.plugin)];
    const debugFlags = parseDebugFlags(options.debugFlags ?? []);
    const layers: LoadedLayer[] = modules.map(({ def, source }, index) => {
      const layerLog = createLogger(def.name, logOptions);
      const flags = debugFlags.get(def.name) ?? new Map<string, number>();
      const host: Host = {
        log: layerLog,
        verbose,
        debugFlag: (n) => flags.get(n) ?? 0,
        signal: abort.signal,
        background: (name, task) => tasks.start(layerLog, name, task),
        shutdown: () => shutdownRequested(),
      };
      const logFor = (id: number | undefined) => (id === undefined ? layerLog : createLogger(`${def.name}[${id}]`, logOptions));
      return { def, index, name: def.name, source, log: layerLog, logFor, host, debugFlags: flags, census: { open: 0 } };
    });
    await configure(
      layers.map((l) => l.def),
      options.params ?? [],
    );
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as LoadedLayer;
      try {
        await layer.def.configComplete?.();
      } catch (e) {
        throw new Error(`${layer.name}: ${errorMessage(e)}`, { cause: e });
      }
    }
    const shared = new Scope('', options.readonly === true, false, abort.signal, undefined, log);
    const stack = new Stack(layers, shared);
    await stack.ready();
    const server = new NbdServer(stack, tasks, options, log, limits, tls);
    server.abort.signal.addEventListener('abort', () => abort.abort());
    shutdown.server = server;
    if (shutdown.pending) void server.close();
    return server;
  }

  /** Starts listening; resolves once the socket accepts connections. */
  async listen(target: ListenTarget): Promise<ListenAddress> {
    // Paused: a connection may move the socket's handle before anything is read (see readInPlace).
    const server = createNetServer({ noDelay: true, pauseOnConnect: true }, (socket) => void this.accept(socket));
    if ('socket' in target) {
      removeFile(target.socket);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(target.socket, () => resolve());
      });
      this.listeners.push({ server, socket: target.socket });
      return { socket: target.socket, uri: `${this.scheme}+unix:///?socket=${target.socket}`, tls: this.state.tls !== undefined };
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
    return { port, host, uri: `${this.scheme}://${uriHost}:${port}`, tls: this.state.tls !== undefined };
  }

  private get scheme(): string {
    return this.state.tls === undefined ? 'nbd' : 'nbds';
  }

  /**
   * Serves one connected socket, as if a listener had accepted it: the
   * `nbdkit-ts -s` client on standard input and output, or a client from an
   * accept loop of the caller's own. Hand it over before anything was read
   * from it. It counts against `maxConnections` like any other, and is
   * dropped at once when the server is closing. Resolves once the connection
   * has ended and closed its contexts (not when the server closes: call
   * {@link close} for that).
   */
  serve(socket: Socket): Promise<void> {
    return this.accept(socket);
  }

  private accept(socket: Socket): Promise<void> {
    socket.on('error', () => {});
    if (this.closing !== undefined) {
      socket.destroy();
      return Promise.resolve();
    }
    const id = this.nextId++;
    const slot = this.admission.admit();
    if (slot === undefined) {
      socket.destroy();
      return Promise.resolve();
    }
    if (!slot.served) {
      const message = `too many connections: ${this.admission.max} already (--max-connections)`;
      this.state.log.warn(`connection ${id} refused: ${message}`);
      return new Connection(socket, this.state, id, message).finished.finally(() => slot.release());
    }
    const start = () => {
      const conn = new Connection(socket, this.state, id);
      this.connections.add(conn);
      return conn.finished.finally(() => {
        this.connections.delete(conn);
        slot.release();
      });
    };
    if (this.stack.concurrency !== 'serialize-connections') return start();
    // The slot is held while it waits its turn, so the limit covers waiting clients too.
    return this.connectionLock.run(() => {
      if (socket.destroyed || this.closing !== undefined) {
        socket.destroy();
        slot.release();
        return Promise.resolve();
      }
      return start();
    });
  }

  /** Connections being served now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Clients holding a --max-connections slot now (served, or waiting their turn). */
  get slotsInUse(): number {
    return this.admission.served;
  }

  /** Contexts open now, per layer, outermost first. */
  openContexts(): { readonly layer: string; readonly open: number }[] {
    return this.stack.census();
  }

  /**
   * Stops accepting; from then on no context opens anywhere. Lets requests
   * in flight finish and closes every connection's contexts; then stops the
   * background tasks and waits for them, closes the shared contexts
   * (outermost first), and runs the cleanup hooks (outermost first). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const l of this.listeners) {
        l.server.close();
        if (l.socket !== undefined) removeFile(l.socket);
      }
      this.abort.abort();
      for (const c of this.connections) c.stop();
      const graceful = (async () => {
        await Promise.all([...this.connections].map((c) => c.finished));
        await this.tasks.stop();
        await this.stack.cleanup();
        const { peak, size } = this.state.budget;
        this.state.log.debug(`buffers: at most ${peak} bytes held at once (limit ${size})`);
      })();
      const ms = this.state.limits.shutdownTimeout;
      if (ms === 0 || (await settlesWithin(graceful, ms))) {
        await graceful;
        this.reportLeftovers();
        return;
      }
      const stuck = this.connections.size;
      this.state.log.warn(`shutdown: not done within ${ms / 1000} s (--shutdown-timeout); dropping ${stuck} connection${stuck === 1 ? '' : 's'}`);
      for (const c of this.connections) c.kill();
      if (!(await settlesWithin(graceful, KILL_GRACE))) {
        const left = this.tasks.count;
        this.state.log.warn(`shutdown: contexts, ${left} background task${left === 1 ? '' : 's'} or cleanup hooks still running; leaving them`);
      }
      this.reportLeftovers();
    })();
    return this.closing;
  }

  /** After shutdown: a context still open is a layer that kept one past cleanup. */
  private reportLeftovers(): void {
    const left = this.stack.census().filter((c) => c.open > 0);
    if (left.length > 0) this.state.log.warn(`shutdown: contexts still open after cleanup: ${left.map((c) => `${c.layer} ${c.open}`).join(', ')}`);
  }
}

/** After the shutdown deadline, how long dropped connections get to close their contexts and cleanup to run. */
const KILL_GRACE = 1000;

/** Whether `p` settles within `ms` milliseconds. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(
      () => true,
      () => true,
    ), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates a server from plugin and filter definitions or names; see {@link ServerOptions}. */
export function createServer(options: ServerOptions): Promise<NbdServer> {
  return NbdServer.create(options);
}
