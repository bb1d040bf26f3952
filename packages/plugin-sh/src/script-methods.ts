import { nbdError, parseSize, type Capabilities, type ClientInfo, type Concurrency, type ConnectionInfo, type ExportInfo, type ExtentList, type Flags, type Host, type PluginCapabilities, type PluginHandle, type Support } from '@nbdkit-ts/core';
import { outcome, type Outcome, type ServerControl } from './exit-status.js';
import { parseExports, parseExtents, flagWords } from './script-output.js';
import { runScript } from './run-script.js';

/** A result of a method the script has: its outcome and what it printed. */
interface Called {
  readonly outcome: Outcome;
  readonly stdout: Buffer;
}

/** The thread models a script may print, as the concurrency each stands for. */
const THREAD_MODELS: Record<string, Concurrency> = {
  parallel: 'parallel',
  serialize_requests: 'serialize-requests',
  serialize_all_requests: 'serialize-all-requests',
  serialize_connections: 'serialize-connections',
};

const text = (b: Buffer) => b.toString().replace(/\n$/, '');
const bool = (b: boolean) => (b ? 'true' : 'false');

/**
 * The methods of a plugin written as scripts, called as nbdkit's sh plugin
 * calls them: `SCRIPT METHOD ARGS...`, one process per call, with `$tmpdir`
 * in the environment. `scriptFor` names the executable that implements a
 * method (one script for sh, one per method for eval).
 */
export class ScriptMethods {
  /** The server's services, once it is ready: where `calling:` lines go, and shutdown. */
  host: Host | undefined;
  private readonly defaultExports = new WeakMap<ClientInfo, Promise<string>>();

  constructor(
    private readonly scriptFor: (method: string) => string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * Runs a method for `connection` (or none); throws what the script
   * reported when it failed.
   */
  async call(method: string, args: readonly string[] = [], connection?: ConnectionInfo, input?: Uint8Array): Promise<Called> {
    const script = this.scriptFor(method);
    (connection?.log ?? this.host?.log)?.debug(`calling: ${[script, method, ...args].join(' ')}`);
    const run = await runScript(script, [method, ...args], this.env, input);
    const control: ServerControl = {
      shutdown: () => this.host?.shutdown(),
      disconnect: (force) => connection?.disconnect(force),
    };
    return { outcome: outcome(script, run, control), stdout: run.stdout };
  }

  /** Runs a method that may only succeed or be missing. */
  async run(method: string, args: readonly string[] = [], connection?: ConnectionInfo): Promise<Called> {
    const r = await this.call(method, args, connection);
    if (r.outcome === 'false') throw nbdError('EIO', `${this.scriptFor(method)}: ${method} method returned unexpected code (3/false)`);
    return r;
  }

  /** A boolean method: 0 true, 3 false, missing `otherwise`. */
  async bool(method: string, args: readonly string[], otherwise: boolean, connection: ConnectionInfo): Promise<boolean> {
    const r = await this.call(method, args, connection);
    return r.outcome === 'missing' ? otherwise : r.outcome === 'ok';
  }

  async concurrency(): Promise<Concurrency> {
    const r = await this.run('thread_model');
    if (r.outcome === 'missing') return 'serialize-all-requests';
    const model = text(r.stdout).trim().toLowerCase().replaceAll('-', '_');
    return THREAD_MODELS[model] ?? 'serialize-all-requests';
  }

  async listExports(client: ClientInfo): Promise<readonly ExportInfo[]> {
    const r = await this.run('list_exports', [bool(client.readonly), bool(client.tls)]);
    // Without list_exports, the default export alone, or none when default_export fails.
    if (r.outcome === 'missing') return this.defaultExport(client).then((name) => [{ name }], () => []);
    return parseExports(r.stdout.toString());
  }

  /** Asked once per client (the server gives one ClientInfo for a whole handshake), as nbdkit does. */
  defaultExport(client: ClientInfo): Promise<string> {
    let name = this.defaultExports.get(client);
    if (name === undefined) {
      name = this.run('default_export', [bool(client.readonly), bool(client.tls)]).then((r) => (r.outcome === 'missing' ? '' : (parseExports(r.stdout.toString())[0]?.name ?? '')));
      this.defaultExports.set(client, name);
    }
    return name;
  }

  async open(info: ConnectionInfo): Promise<PluginHandle> {
    const r = await this.run('open', [bool(info.readonly), info.exportName, bool(info.tls)], info);
    const handle = r.outcome === 'missing' ? '' : text(r.stdout);
    if (handle !== '') info.log.debug(`handle: ${handle}`);
    return new ScriptHandle(this, handle, info);
  }
}

/** One connection's handle: the string the script's open printed, given back to every call. */
class ScriptHandle implements PluginHandle {
  constructor(
    private readonly methods: ScriptMethods,
    private readonly h: string,
    private readonly connection: ConnectionInfo,
  ) {}

  private script(method: string): Promise<{ outcome: Outcome; stdout: Buffer }> {
    return this.methods.run(method, [this.h], this.connection);
  }

  private bool(method: string, otherwise: boolean): Promise<boolean> {
    return this.methods.bool(method, [this.h], otherwise, this.connection);
  }

  /** A method that prints none, emulate or native. */
  private async support(method: string, otherwise: () => Support | Promise<Support>): Promise<Support> {
    const r = await this.script(method);
    if (r.outcome === 'missing') return otherwise();
    const s = text(r.stdout).toLowerCase();
    if (s === 'none' || s === 'emulate' || s === 'native') return s;
    throw nbdError('EIO', `${method}: could not parse output from ${method} method: ${text(r.stdout)}`);
  }

  async capabilities(): Promise<PluginCapabilities> {
    const size = await this.size();
    const canWrite = await this.bool('can_write', false);
    const canFlush = await this.bool('can_flush', false);
    const isRotational = await this.bool('is_rotational', false);
    const canTrim = await this.bool('can_trim', false);
    const zero = await this.bool('can_zero', false);
    const canFastZero = await this.bool('can_fast_zero', !zero);
    const canFua = await this.support('can_fua', () => (canFlush ? 'emulate' : 'none'));
    const canMultiConn = await this.bool('can_multi_conn', false);
    const canExtents = await this.bool('can_extents', false);
    const canCache = await this.support('can_cache', () => 'none');
    const blockSize = await this.blockSize();
    const described = await this.script('export_description');
    const description = described.outcome === 'ok' ? text(described.stdout) : undefined;
    const canZero: Support = zero ? 'native' : 'emulate';
    return { size, canWrite, canFlush, isRotational, canTrim, canZero, canFastZero, canFua, canMultiConn, canExtents, canCache, blockSize, ...(description === undefined ? {} : { description }) };
  }

  private async size(): Promise<bigint> {
    const r = await this.script('get_size');
    if (r.outcome === 'missing') throw nbdError('EIO', `the get_size method is required`);
    const out = text(r.stdout);
    try {
      return parseSize('get_size', out);
    } catch {
      throw nbdError('EIO', `could not parse output from get_size method: ${out}`);
    }
  }

  private async blockSize(): Promise<Capabilities['blockSize']> {
    const r = await this.script('block_size');
    if (r.outcome === 'missing') return undefined;
    const words = r.stdout.toString().trim().split(/\s+/);
    const sizes = words.slice(0, 3).map((w) => {
      try {
        return parseSize('block_size', w);
      } catch {
        return -1n;
      }
    });
    if (sizes.length < 3 || sizes.some((s) => s < 0n || s > 0xffffffffn)) throw nbdError('EIO', `block_size method cannot be parsed`);
    const [minimum, preferred, maximum] = sizes.map(Number) as [number, number, number];
    return minimum === 0 && preferred === 0 && maximum === 0 ? undefined : { minimum, preferred, maximum };
  }

  async pread(buf: Uint8Array, offset: bigint): Promise<void> {
    const r = await this.methods.run('pread', [this.h, String(buf.length), String(offset)], this.connection);
    if (r.outcome === 'missing') throw nbdError('EIO', 'the pread method is required');
    if (r.stdout.length !== buf.length) {
      throw nbdError('EIO', `incorrect amount of data read: expecting ${buf.length} bytes but received ${r.stdout.length} bytes from the script`);
    }
    buf.set(r.stdout);
  }

  async pwrite(buf: Uint8Array, offset: bigint, flags: Flags): Promise<void> {
    const r = await this.methods.call('pwrite', [this.h, String(buf.length), String(offset), flagWords(flags)], this.connection, buf);
    if (r.outcome === 'missing') throw nbdError('EIO', 'pwrite not implemented');
    if (r.outcome === 'false') throw nbdError('EIO', 'pwrite method returned unexpected code (3/false)');
  }

  async flush(): Promise<void> {
    await this.script('flush');
  }

  async trim(count: number, offset: bigint, flags: Flags): Promise<void> {
    await this.methods.run('trim', [this.h, String(count), String(offset), flagWords(flags)], this.connection);
  }

  async zero(count: number, offset: bigint, flags: Flags): Promise<void> {
    const r = await this.methods.run('zero', [this.h, String(count), String(offset), flagWords(flags)], this.connection);
    if (r.outcome === 'missing') throw nbdError('ENOTSUP', 'zero falling back to pwrite');
  }

  async extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): Promise<void> {
    const r = await this.methods.run('extents', [this.h, String(count), String(offset), flagWords(flags)], this.connection);
    if (r.outcome === 'missing') throw nbdError('EIO', 'can_extents returned true, but extents method is not defined');
    for (const e of parseExtents(r.stdout.toString())) extents.add(e.offset, e.length, e.type);
  }

  async cache(count: number, offset: bigint): Promise<void> {
    await this.methods.run('cache', [this.h, String(count), String(offset)], this.connection);
  }

  async close(): Promise<void> {
    // As nbdkit: whatever close says, the handle is gone.
    await this.methods.call('close', [this.h], this.connection).catch((e: unknown) => this.connection.log.error(e instanceof Error ? e.message : String(e)));
  }
}
