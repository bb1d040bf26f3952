import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCertificateDirs } from '../tls/load-tls.js';

/** nbdkit's names for Node's CPU architectures, where they differ. */
const CPU: Readonly<Record<string, string>> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', ppc64: 'powerpc64le' };

/**
 * What --dump-config prints: key=value lines about this server, with the
 * keys nbdkit's --dump-config has where they mean the same (scripts probe
 * `tls=yes` or `version_major`), and `node_version`.
 */
export function dumpConfig(version: string): string {
  const binary = fileURLToPath(new URL('./main.js', import.meta.url));
  const [major = '', minor = ''] = version.split('.');
  const lines: [string, string][] = [
    ['binary', binary],
    ['bindir', dirname(binary)],
    ['exit_with_parent', 'yes'],
    ['host_cpu', CPU[process.arch] ?? process.arch],
    ['host_os', process.platform === 'linux' ? 'linux-gnu' : process.platform],
    ['name', 'nbdkit-ts'],
    ['node_version', process.versions.node],
    ['root_tls_certificates_dir', defaultCertificateDirs().at(-1) ?? ''],
    ['tls', 'yes'],
    ['version', version],
    ['version_major', major],
    ['version_minor', minor],
  ];
  return lines.map(([k, v]) => `${k}=${v}`).join('\n');
}
