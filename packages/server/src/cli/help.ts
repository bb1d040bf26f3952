import { API_VERSION, type Filter, type Plugin } from '@nbdkit-ts/core';

/** The usage text, without any layer. */
export const USAGE = `Usage: nbdkit-ts [OPTIONS] PLUGIN [key=value | word]...

Serve PLUGIN's export over NBD, through the filters given with --filter.

Options:
  -U, --unix PATH        listen on a unix socket (-U - : a private one, for --run)
  -p, --port PORT        listen on a TCP port (default 10809)
  -i, --ipaddr ADDR      listen on this address only
  -f, --foreground       stay in the foreground (default: go to the background once listening)
  -s, --single           serve the one client connected on stdin and stdout, then exit
                         (no socket to listen on; not with -U, -p, --run, --dump-plugin)
  -r, --readonly         serve read-only
  -e, --exportname NAME  the export name put in $uri for --run
      --filter NAME      add a filter (repeatable; the first is outermost)
      --run CMD          run CMD with $uri, $nbd, $exportname, $port, $unixsocket set,
                         then stop the server and exit with CMD's status
  -P, --pidfile FILE     write the server's process id to FILE once listening
      --exit-with-parent stop when the parent process exits
      --tls=off|on|require  TLS: none (default), at the client's choice, or before anything else
      --tls-certificates DIR  ca-cert.pem, server-cert.pem, server-key.pem for TLS
      --tls-verify-peer  ask clients for a certificate signed by ca-cert.pem
      --tls-psk FILE     authenticate clients by pre-shared keys (username:hexkey lines)
      --max-connections N  serve at most N connections at once (default 1024)
  -t, --threads N        handle at most N requests of a connection at once (default 256)
      --handshake-timeout S  drop a client that took S seconds of the handshake (default 5)
      --request-timeout S  fail with EIO a request the layers have not answered in S seconds
      --shutdown-timeout S  on SIGTERM, drop what still runs after S seconds (default 10)
      --no-sr            refuse structured replies (clients get simple replies, no block status)
      --mask-handshake=M advertise only these handshake flags (1 fixed newstyle, 2 no zeroes)
  -v, --verbose          debug messages
  -D, --debug L.F=N      set debug flag F of layer L to N
  -V, --version          print the version of the server and of each layer
  -h, --help             this help, with the parameters of the layers given
      --dump-plugin      print what the plugin is and can do
      --dump-config      print the server's configuration (key=value, as nbdkit)
      --long-options, --short-options  list the options, one a line
      --list             list the plugins and filters found, with versions and where

PLUGIN and filters are names (file -> @nbdkit-ts/plugin-file or nbdkit-ts-plugin-file,
found from $NBDKIT_TS_PATH, the working directory, the server's install, npm's global
root) or paths to modules. A bare word is given to the plugin's main parameter.`;

/** One layer's parameters, for --help. */
export function layerHelp(def: Plugin | Filter, version: string | undefined): string {
  const lines = [`${def.kind} ${def.name}${version === undefined ? '' : ` ${version}`}${def.description === undefined ? '' : `: ${def.description}`}`];
  const params = def.params ?? [];
  if (params.length === 0) lines.push('  (no parameters)');
  const width = Math.max(0, ...params.map((p) => p.name.length)) + 2;
  for (const p of params) lines.push(`  ${(p.name + '=').padEnd(width)} ${p.description}${p.magic === true ? ' (the bare word)' : ''}`);
  if (def.kind === 'plugin' && def.otherParams !== undefined) lines.push(`  (any other key): ${def.otherParams}`);
  return lines.join('\n');
}

/** What --dump-plugin prints: key=value lines. */
export function dumpPlugin(def: Plugin, source: string, version: string | undefined): string {
  const lines = [
    `path=${source}`,
    `name=${def.name}`,
    `version=${version ?? ''}`,
    `api_version=${def.apiVersion}`,
    `server_api_version=${API_VERSION}`,
    `concurrency=${def.concurrency ?? 'parallel'}`,
  ];
  if (def.description !== undefined) lines.push(`description=${def.description}`);
  const magic = def.params?.find((p) => p.magic === true);
  if (magic !== undefined) lines.push(`magic_config_key=${magic.name}`);
  for (const p of def.params ?? []) lines.push(`param.${p.name}=${p.description}`);
  if (def.otherParams !== undefined) lines.push(`other_params=${def.otherParams}`);
  for (const hook of ['config', 'configComplete', 'ready', 'preconnect', 'listExports', 'defaultExport', 'cleanup'] as const) {
    if (typeof def[hook] === 'function') lines.push(`has_${hook}=1`);
  }
  return lines.join('\n');
}
