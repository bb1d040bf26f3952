#!/usr/bin/env node
import { mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '@nbdkit-ts/core';
import { childProcess } from '../child-process.js';
import { loadLayer } from '../loader/load-layer.js';
import { TlsConfigError } from '../tls/load-tls.js';
import { LayerNotFound } from '../loader/resolve.js';
import { createServer, type ListenAddress, type ListenTarget, type NbdServer } from '../server.js';
import { removeFile } from '../remove-file.js';
import { UnknownParameter } from '../stack/params.js';
import { configure } from '../stack/configure.js';
import { optionNames, parseArgs, UsageError, type CliArgs } from './args.js';
import { childStdio, inheritedDescriptors } from './inherited-descriptors.js';
import { runCaptive } from './run-captive.js';
import { checkStdio, stdioSocket } from './stdio-socket.js';

/**
 * With -s, how long the last replies get to reach the client once the server has closed
 * (a connection gives them 5 s before it drops its socket).
 */
const REPLIES_LINGER = 10_000;

/** Set in the environment of the background copy of the server, so it knows to report when it listens. */
const DAEMON_CHILD = 'NBDKIT_TS_DAEMON_CHILD';

function serverVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function printInfo(args: CliArgs): Promise<void> {
  const { dumpPlugin, layerHelp, USAGE } = await import('./help.js');
  const layers = await Promise.all([
    ...args.filters.map((f) => loadLayer('filter', f)),
    ...(args.plugin === undefined ? [] : [loadLayer('plugin', args.plugin)]),
  ]);
  if (args.version) {
    console.log(`nbdkit-ts ${serverVersion()}`);
    for (const l of layers) console.log(`${l.def.name} ${l.version ?? ''}`.trimEnd());
  }
  if (args.help) {
    console.log(USAGE);
    for (const l of layers) console.log('\n' + layerHelp(l.def, l.version));
  }
  if (args.dumpPlugin) {
    const plugin = layers.at(-1);
    if (plugin === undefined || plugin.def.kind !== 'plugin') throw new UsageError('--dump-plugin needs a plugin');
    await configure(
      layers.map((l) => l.def),
      args.params,
    );
    const own = (await plugin.def.dumpPlugin?.())?.replace(/\n$/, '');
    console.log(dumpPlugin(plugin.def, plugin.source, plugin.version) + (own === undefined || own === '' ? '' : `\n${own}`));
  }
}

function listenTarget(args: CliArgs): { target: ListenTarget; privateDir?: string } {
  if (args.unixSocket === '-') {
    const dir = mkdtempSync(join(tmpdir(), 'nbdkit-ts-'));
    return { target: { socket: join(dir, 'socket') }, privateDir: dir };
  }
  if (args.unixSocket !== undefined) return { target: { socket: args.unixSocket } };
  return { target: { port: args.port ?? 10809, ...(args.ipaddr === undefined ? {} : { host: args.ipaddr }) } };
}

/** Starts a copy of this command in the foreground, detached, and returns once it listens. */
function daemonize(verbose: boolean): Promise<number> {
  const { spawn } = childProcess();
  const argv = process.argv.slice(1);
  const child = spawn(process.execPath, [...process.execArgv, ...argv], {
    detached: true,
    // As nbdkit: standard output goes nowhere, and standard error too unless -v. What nbdkit
    // keeps across its fork stays: standard input (the configuration it reads before forking,
    // as `sh -`) and inherited descriptors (fd=, dirfd=).
    stdio: childStdio(verbose, inheritedDescriptors()),
    env: { ...process.env, [DAEMON_CHILD]: '1' },
  });
  return new Promise((resolve) => {
    child.once('message', (m: unknown) => {
      // The copy failed before it listened: its error is this command's (it exits next).
      if (typeof m === 'object' && m !== null && 'error' in m) {
        console.error(String(m.error));
        return;
      }
      child.disconnect();
      child.unref();
      resolve(0);
    });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

async function serve(args: CliArgs): Promise<number> {
  if (args.plugin === undefined) throw new UsageError('no plugin given');
  if (!args.foreground && process.env[DAEMON_CHILD] === undefined) return daemonize(args.verbose);
  // Checked before any layer is loaded: a server that cannot serve runs no layer's configuration.
  const stdio = args.single ? checkStdio() : undefined;
  let shutdownRequested: () => void = () => {};
  const asked = new Promise<void>((resolve) => (shutdownRequested = resolve));
  const server = await createServer({
    plugin: args.plugin,
    filters: args.filters,
    params: args.params,
    readonly: args.readonly,
    verbose: args.verbose,
    debugFlags: args.debugFlags,
    tls: args.tls,
    handshakeTimeout: args.handshakeTimeout,
    requestTimeout: args.requestTimeout,
    shutdownTimeout: args.shutdownTimeout,
    maxConnections: args.maxConnections,
    ...(args.threads === undefined ? {} : { maxRequestsInFlight: args.threads }),
    structuredReplies: !args.noStructuredReplies,
    handshakeFlagsMask: args.handshakeFlagsMask,
    onShutdownRequest: () => shutdownRequested(),
  });
  // A layer's forgotten promise must not take every client down with it.
  process.on('unhandledRejection', (e) => console.error(`nbdkit-ts: error: unhandled rejection: ${errorMessage(e)}`));
  // Taken before listening: a client may see the socket, and signal, before listen() returns.
  const signalled = new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  let address: ListenAddress | undefined;
  let privateDir: string | undefined;
  let served: Promise<void> | undefined;
  try {
    if (stdio !== undefined) {
      served = server.serve(stdioSocket(stdio));
    } else {
      ({ address, privateDir } = await listenOn(server, args));
    }
  } catch (e) {
    await server.close();
    throw e;
  }
  if (args.pidfile !== undefined) writeFileSync(args.pidfile, `${process.pid}\n`);
  let stopped: Promise<number> | undefined;
  const stop = (status: number): Promise<number> => {
    stopped ??= server.close().then(() => {
      // The server has removed the socket: -U -'s folder is empty.
      if (privateDir !== undefined) rmdirSync(privateDir);
      if (args.pidfile !== undefined) removeFile(args.pidfile);
      return status;
    });
    return stopped;
  };
  const done = new Promise<number>((resolve) => {
    void Promise.race([signalled, asked]).then(() => stop(0).then(resolve));
    if (args.exitWithParent) watchParent(() => void stop(0).then(resolve));
    // As nbdkit: once its one client has gone, whichever way, the server exits with status 0.
    if (served !== undefined) void served.then(() => stop(0).then(resolve));
    if (args.run !== undefined && address !== undefined) void runCaptive(args.run, address, args.exportName, args.tls.mode).then((status) => stop(status).then(resolve));
  });
  if (address === undefined) {
    if (args.verbose) console.error('nbdkit-ts: serving the client on standard input and output');
  } else {
    if (args.verbose) console.error(`nbdkit-ts: listening on ${address.uri}`);
    process.send?.('listening');
  }
  return stdio === undefined ? done : done.then(exitOnceIdle);
}

/**
 * Ends the process with `status` once nothing is left to do (the replies still queued for the
 * client of -s have left, and its socket has closed), or after REPLIES_LINGER at the latest.
 * Never settles.
 */
function exitOnceIdle(status: number): Promise<never> {
  process.exitCode = status;
  setTimeout(() => process.exit(status), REPLIES_LINGER).unref();
  return new Promise<never>(() => {});
}

/** Listens where the command line says; the private directory of `-U -` is removed at exit. */
async function listenOn(server: NbdServer, args: CliArgs): Promise<{ address: ListenAddress; privateDir?: string }> {
  const { target, privateDir } = listenTarget(args);
  try {
    return { address: await server.listen(target), ...(privateDir === undefined ? {} : { privateDir }) };
  } catch (e) {
    throw new Error(`cannot listen on ${'socket' in target ? target.socket : `port ${target.port}`}: ${errorMessage(e)}`, { cause: e });
  }
}

/** The parent process, as it was when the command started. */
const PARENT = process.ppid;

function watchParent(onExit: () => void): void {
  const parent = PARENT;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onExit();
    }
  }, 500);
  timer.unref();
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  // What only --list, --dump-config, --help, --version and --dump-plugin need is imported when they are asked for.
  if (args.list) return (await import('./list.js')).printList();
  if (args.listOptions !== undefined) {
    console.log(optionNames(args.listOptions));
    return 0;
  }
  if (args.dumpConfig) {
    console.log((await import('./dump-config.js')).dumpConfig(serverVersion()));
    return 0;
  }
  if (args.help || args.version || args.dumpPlugin) {
    if (args.help && args.plugin === undefined && args.filters.length === 0) {
      console.log((await import('./help.js')).USAGE);
      return 0;
    }
    await printInfo(args);
    return 0;
  }
  return serve(args);
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (e: unknown) => {
    const known = e instanceof UsageError || e instanceof LayerNotFound || e instanceof UnknownParameter || e instanceof TlsConfigError;
    const message = `nbdkit-ts: ${errorMessage(e)}${e instanceof UsageError ? '\nTry nbdkit-ts --help.' : ''}`;
    if (!known && process.env.NBDKIT_TS_STACK === '1' && e instanceof Error) console.error(e.stack);
    // The background copy's standard error goes nowhere (without -v): the command that started it says why it failed.
    if (process.env[DAEMON_CHILD] !== undefined && process.send !== undefined) {
      process.send({ error: message }, () => process.exit(1));
      return;
    }
    console.error(message);
    process.exit(1);
  },
);
