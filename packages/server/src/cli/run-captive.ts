import type { TlsMode } from '../tls/load-tls.js';
import type { ListenAddress } from '../server.js';
import { childProcess } from '../child-process.js';

/**
 * Runs `command` under /bin/sh with the export's $uri, $nbd, $exportname,
 * $port, $unixsocket and $tls (0 off, 1 on, 2 require, as nbdkit) set, and
 * resolves with its exit status (as the shell reports it: 128+N when killed
 * by signal N). With TLS, $uri is an nbds:// or nbds+unix:// URI.
 */
export function runCaptive(command: string, address: ListenAddress, exportName: string, tls: TlsMode = 'off'): Promise<number> {
  const { spawn } = childProcess();
  const uri = withExportName(address, exportName);
  const env = {
    ...process.env,
    uri,
    nbd: uri,
    exportname: exportName,
    port: address.port === undefined ? '' : String(address.port),
    unixsocket: address.socket ?? '',
    tls: tls === 'off' ? '0' : tls === 'on' ? '1' : '2',
  };
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: 'inherit' });
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
  });
}

/** The URI of an export: the listen address with the export name as its path. */
export function withExportName(address: ListenAddress, exportName: string): string {
  const name = encodeURIComponent(exportName).replace(/%2F/g, '/');
  const scheme = address.tls ? 'nbds' : 'nbd';
  if (address.socket !== undefined) return `${scheme}+unix:///${name}?socket=${encodeURIComponent(address.socket).replace(/%2F/g, '/')}`;
  return `${address.uri}/${name}`;
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return signal === null ? 0 : (numbers[signal] ?? 1);
}
