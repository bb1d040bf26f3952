import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TlsOptions as NodeTlsOptions } from 'node:tls';
import { errorMessage } from '@nbdkit-ts/core';

/** `--tls`: no TLS, TLS at the client's choice, or TLS before any other option. */
export type TlsMode = 'off' | 'on' | 'require';

/** How to serve TLS, as given on the command line or to createServer. */
export interface TlsOptions {
  readonly mode: TlsMode;
  /** `--tls-certificates`: a folder with ca-cert.pem, server-cert.pem, server-key.pem (and ca-crl.pem). */
  readonly certificates?: string;
  /** `--tls-verify-peer`: ask clients for a certificate signed by ca-cert.pem and refuse those without one. */
  readonly verifyPeer?: boolean;
  /** `--tls-psk`: a file of `username:hexkey` lines; clients authenticate with a pre-shared key. */
  readonly psk?: string;
}

/** TLS ready to run on connections: how it authenticates and the options of each session. */
export interface TlsSetup {
  readonly mode: 'on' | 'require';
  readonly kind: 'x509' | 'psk';
  readonly verifyPeer: boolean;
  /** Options of the tls.Server that runs each session's handshake. */
  readonly options: NodeTlsOptions;
  /** Node's TLS module, loaded only when TLS is on (it costs start-up time). */
  readonly tls: typeof import('node:tls');
}

/** The TLS settings are wrong; the message names the option. */
export class TlsConfigError extends Error {}

/** Where nbdkit looks for certificates when --tls-certificates is not given. */
export function defaultCertificateDirs(): string[] {
  const dirs = ['/etc/pki/nbdkit'];
  if (process.getuid?.() !== 0) dirs.unshift(join(homedir(), '.pki/nbdkit'));
  return dirs;
}

/**
 * TLS 1.2 ciphers for pre-shared keys (with TLS 1.3, which GnuTLS clients such
 * as libnbd and qemu prefer, the key is used with the SHA-256 suites).
 */
const PSK_CIPHERS = 'ECDHE-PSK-AES256-CBC-SHA384:ECDHE-PSK-AES128-CBC-SHA256:DHE-PSK-AES256-GCM-SHA384:DHE-PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256';

/** Reads the certificates or the PSK file; throws TlsConfigError naming the option at fault. */
export async function loadTls(o: TlsOptions): Promise<TlsSetup | undefined> {
  if (o.mode === 'off') {
    for (const [name, v] of [
      ['--tls-certificates', o.certificates],
      ['--tls-psk', o.psk],
      ['--tls-verify-peer', o.verifyPeer === true ? true : undefined],
    ] as const) {
      if (v !== undefined) throw new TlsConfigError(`${name} needs --tls=on or --tls=require`);
    }
    return undefined;
  }
  const tls = await import('node:tls');
  if (o.psk !== undefined) {
    if (o.certificates !== undefined) throw new TlsConfigError('--tls-psk and --tls-certificates cannot be used together');
    if (o.verifyPeer === true) throw new TlsConfigError('--tls-verify-peer is for certificates; with --tls-psk every client proves its key');
    const keys = readPskFile(o.psk);
    return {
      mode: o.mode,
      kind: 'psk',
      verifyPeer: false,
      tls,
      options: {
        minVersion: 'TLSv1.2',
        ciphers: PSK_CIPHERS,
        pskCallback: (_socket, identity) => keys.get(identity) ?? null,
      },
    };
  }
  const dir = o.certificates ?? defaultCertificateDirs().find((d) => existsSync(join(d, 'server-cert.pem')));
  if (dir === undefined) {
    throw new TlsConfigError(`--tls=${o.mode} needs --tls-certificates=DIR or --tls-psk=FILE (no server-cert.pem in ${defaultCertificateDirs().join(' or ')})`);
  }
  const read = (file: string, optional = false): Buffer | undefined => {
    const path = join(dir, file);
    if (optional && !existsSync(path)) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new TlsConfigError(`--tls-certificates=${dir}: cannot read ${file}: ${errorMessage(e)}`, { cause: e });
    }
  };
  const verifyPeer = o.verifyPeer === true;
  const ca = read('ca-cert.pem', !verifyPeer);
  const options: NodeTlsOptions = {
    minVersion: 'TLSv1.2',
    cert: read('server-cert.pem'),
    key: read('server-key.pem'),
    ...(ca === undefined ? {} : { ca }),
    ...(verifyPeer && existsSync(join(dir, 'ca-crl.pem')) ? { crl: read('ca-crl.pem') } : {}),
    requestCert: verifyPeer,
    rejectUnauthorized: verifyPeer,
  };
  try {
    tls.createSecureContext(options);
  } catch (e) {
    throw new TlsConfigError(`--tls-certificates=${dir}: ${errorMessage(e)}`, { cause: e });
  }
  return { mode: o.mode, kind: 'x509', verifyPeer, options, tls };
}

/** Parses a PSK file: `username:hexkey` lines, as GnuTLS's psktool writes them. */
function readPskFile(file: string): Map<string, Buffer> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TlsConfigError(`--tls-psk=${file}: ${errorMessage(e)}`, { cause: e });
  }
  const keys = new Map<string, Buffer>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^([^:]+):([0-9a-fA-F]+)$/.exec(line);
    if (m === null || (m[2] as string).length % 2 !== 0) throw new TlsConfigError(`--tls-psk=${file}: line ${i + 1}: expected USERNAME:HEXKEY`);
    keys.set(m[1] as string, Buffer.from(m[2] as string, 'hex'));
  });
  if (keys.size === 0) throw new TlsConfigError(`--tls-psk=${file}: no keys`);
  return keys;
}
