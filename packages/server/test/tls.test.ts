import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, run, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { RawClient } from './raw-client.js';
import { NBD_OPT_EXPORT_NAME, NBD_OPT_LIST, NBD_OPT_STARTTLS, NBD_REP_ACK, NBD_REP_ERR_TLS_REQD } from '../src/protocol/constants.js';

const FAULT = join(import.meta.dirname, 'layers/fault-plugin.js');
const SIZE = 4 * 1024 * 1024;

/** Runs openssl, which .ci/run gets with ca-certificates. */
const openssl = (...args: string[]) => runOk('openssl', args);

/**
 * Makes certificates as nbdkit and libnbd expect them: server/ (ca-cert.pem,
 * server-cert.pem, server-key.pem), client/ (ca-cert.pem, client-cert.pem,
 * client-key.pem, signed by the same CA), rogue/ (a client certificate signed
 * by nobody) and stranger/ (a CA that signed neither).
 */
async function makeCertificates(dir: string): Promise<void> {
  for (const d of ['server', 'client', 'rogue', 'stranger']) mkdirSync(join(dir, d));
  const days = ['-days', '2'];
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca-key.pem'), '-out', join(dir, 'server/ca-cert.pem'), ...days, '-subj', '/CN=nbdkit-ts test CA');
  const sign = async (name: string, subject: string, ext: string, out: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(out, `${name}-key.pem`), '-out', join(dir, `${name}.csr`), '-subj', subject);
    await openssl('x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'server/ca-cert.pem'), '-CAkey', join(dir, 'ca-key.pem'), '-CAcreateserial', '-out', join(out, `${name}-cert.pem`), ...days, '-extfile', join(dir, `${name}.ext`));
  };
  await sign('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n', join(dir, 'server'));
  await sign('client', '/CN=alice', 'extendedKeyUsage=clientAuth\n', join(dir, 'client'));
  writeFileSync(join(dir, 'client/ca-cert.pem'), readFileSync(join(dir, 'server/ca-cert.pem')));
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'rogue/client-key.pem'), '-out', join(dir, 'rogue/client-cert.pem'), ...days, '-subj', '/CN=mallory');
  writeFileSync(join(dir, 'rogue/ca-cert.pem'), readFileSync(join(dir, 'server/ca-cert.pem')));
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'stranger/ca-key.pem'), '-out', join(dir, 'stranger/ca-cert.pem'), ...days, '-subj', '/CN=another CA');
}

describe('TLS', () => {
  let dir: string;
  let image: string;
  const data = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    writeFileSync(image, data);
    await makeCertificates(dir);
    writeFileSync(join(dir, 'keys.psk'), `alice:${'a1'.repeat(32)}\nbob:${'b2'.repeat(32)}\n`);
    mkdirSync(join(dir, 'wrong'));
    writeFileSync(join(dir, 'wrong/keys.psk'), `alice:${'c3'.repeat(32)}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const withCerts = (uri: string, d: string) => `${uri.replace('nbd+unix', 'nbds+unix')}&tls-certificates=${join(dir, d)}`;
  const withPsk = (server: ServerProcess, user: string, file: string) => `nbds+unix://${user}@/?socket=${server.socket}&tls-psk-file=${file}`;

  describe('--tls=require with certificates', () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServer(['--tls=require', `--tls-certificates=${join(dir, 'server')}`, 'file', image]);
    });
    afterAll(async () => {
      await server.stop();
    });

    it('nbdinfo, nbdsh and qemu-img work over TLS', async () => {
      const info = await runOk('nbdinfo', [withCerts(server.uri, 'client')]);
      expect(info.stdout).toContain('with TLS');
      // nbdsh -u refuses URIs that name local files; the script allows them first.
      await runOk('nbdsh', [
        '-c', `h.set_uri_allow_local_file(True)\nh.connect_uri(${JSON.stringify(withCerts(server.uri, 'client'))})`,
        '-c', `assert h.get_size() == ${SIZE}\nh.pwrite(b"over tls", 4096)\nassert h.pread(8, 4096) == b"over tls"`,
      ]);
      expect(readFileSync(image).subarray(4096, 4104).toString()).toBe('over tls');
      const copy = join(dir, 'copy.img');
      await runOk('qemu-img', [
        'convert', '--object', `tls-creds-x509,id=tls0,dir=${join(dir, 'client')},endpoint=client`,
        '--image-opts', `driver=nbd,path=${server.socket},tls-creds=tls0,tls-hostname=localhost`, '-O', 'raw', copy,
      ]);
      expect(readFileSync(copy).equals(readFileSync(image))).toBe(true);
    });

    it('a client that does not trust the server certificate gives up', async () => {
      const r = await run('qemu-img', [
        'info', '--object', `tls-creds-x509,id=tls0,dir=${join(dir, 'stranger')},endpoint=client`,
        '--image-opts', `driver=nbd,path=${server.socket},tls-creds=tls0,tls-hostname=localhost`,
      ]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/certificate/i);
    });

    it('a plain client gets NBD_REP_ERR_TLS_REQD for every option and no data', async () => {
      const c = await RawClient.connect(server.socket);
      await c.handshake();
      c.sendOption(NBD_OPT_LIST);
      const list = await c.readOptionReply();
      expect(list.type).toBe(NBD_REP_ERR_TLS_REQD);
      expect((await c.go()).type).toBe(NBD_REP_ERR_TLS_REQD);
      c.sendOption(NBD_OPT_EXPORT_NAME);
      await c.waitClosed();
      expect(c.available).toBe(0);
      const plain = await run('nbdinfo', [server.uri]);
      expect(plain.status).not.toBe(0);
      expect(plain.stdout).not.toContain('export-size');
    });

    it('a client that pipelines data after STARTTLS is dropped', async () => {
      const c = await RawClient.connect(server.socket);
      await c.handshake();
      c.sendOption(NBD_OPT_STARTTLS);
      c.sendOption(NBD_OPT_LIST);
      expect((await c.readOptionReply()).type).toBe(NBD_REP_ACK);
      await c.waitClosed();
    });
  });

  describe('--tls-verify-peer', () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServer(['--tls=require', `--tls-certificates=${join(dir, 'server')}`, '--tls-verify-peer', '-r', 'file', image]);
    });
    afterAll(async () => {
      await server.stop();
    });

    it('serves a client whose certificate the CA signed', async () => {
      expect((await runOk('nbdinfo', ['--size', withCerts(server.uri, 'client')])).stdout.trim()).toBe(String(SIZE));
    });

    it('refuses a self-signed client certificate, and a client without one', async () => {
      for (const d of ['rogue', 'stranger']) {
        const r = await run('nbdinfo', ['--size', withCerts(server.uri, d)]);
        expect(r.status, d).not.toBe(0);
      }
      const noCert = join(dir, 'nocert');
      mkdirSync(noCert);
      writeFileSync(join(noCert, 'ca-cert.pem'), readFileSync(join(dir, 'server/ca-cert.pem')));
      const r = await run('nbdinfo', ['--size', withCerts(server.uri, 'nocert')]);
      expect(r.status).not.toBe(0);
      expect(server.stderr()).not.toMatch(/error/);
    });
  });

  describe('--tls-psk', () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServer(['--tls=require', `--tls-psk=${join(dir, 'keys.psk')}`, 'file', image]);
    });
    afterAll(async () => {
      await server.stop();
    });

    it('nbdinfo and qemu-img with the right key', async () => {
      const info = await runOk('nbdinfo', [withPsk(server, 'alice', join(dir, 'keys.psk'))]);
      expect(info.stdout).toContain('with TLS');
      expect(info.stdout).toContain(`export-size: ${SIZE}`);
      const q = await runOk('qemu-img', [
        'info', '--output=json', '--object', `tls-creds-psk,id=tls0,dir=${dir},username=bob,endpoint=client`,
        '--image-opts', `driver=nbd,path=${server.socket},tls-creds=tls0`,
      ]);
      expect((JSON.parse(q.stdout) as { 'virtual-size': number })['virtual-size']).toBe(SIZE);
    });

    it('a wrong key or an unknown user is refused', async () => {
      const wrongKey = await run('nbdinfo', [withPsk(server, 'alice', join(dir, 'wrong/keys.psk'))]);
      expect(wrongKey.status).not.toBe(0);
      writeFileSync(join(dir, 'carol.psk'), `carol:${'a1'.repeat(32)}\n`);
      const unknown = await run('nbdinfo', [withPsk(server, 'carol', join(dir, 'carol.psk'))]);
      expect(unknown.status).not.toBe(0);
      expect(unknown.stdout).toBe('');
    });
  });

  describe('--tls=on', () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServer(['-v', '--tls=on', `--tls-psk=${join(dir, 'keys.psk')}`, FAULT]);
    });
    afterAll(async () => {
      await server.stop();
    });

    it('serves plain and TLS clients, and tells layers which is which', async () => {
      expect((await runOk('nbdinfo', [server.uri])).stdout).toContain('without TLS');
      expect(server.stderr()).toMatch(/fault\[1\]: debug: open "" tls=false/);
      expect((await runOk('nbdinfo', [withPsk(server, 'alice', join(dir, 'keys.psk'))])).stdout).toContain('with TLS');
      expect(server.stderr()).toMatch(/fault\[2\]: debug: open "" tls=true/);
    });
  });

  it('--run gets an nbds+unix:// $uri and $tls', async () => {
    const r = await runOk(process.execPath, [
      cliPath(), '-U', '-', '--tls=require', `--tls-psk=${join(dir, 'keys.psk')}`, 'file', image,
      '--run', `echo "$uri $tls"; nbdinfo --size "nbds+unix://alice@/?socket=$unixsocket&tls-psk-file=${join(dir, 'keys.psk')}"`,
    ]);
    expect(r.stdout).toMatch(/^nbds\+unix:\/\/\/\?socket=\S+ 2\n/);
    expect(r.stdout).toContain(`${SIZE}\n`);
  });

  it('bad TLS settings are refused with a message naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['--tls=maybe'], /--tls=maybe: expected off, on or require/],
      [[`--tls-psk=${join(dir, 'keys.psk')}`], /--tls-psk needs --tls=on or --tls=require/],
      [['--tls=on', `--tls-psk=${join(dir, 'nowhere.psk')}`], /--tls-psk=\S+nowhere.psk: ENOENT/],
      [['--tls=on', `--tls-psk=${image}`], /--tls-psk=\S+: line 1: expected USERNAME:HEXKEY/],
      [['--tls=on', `--tls-certificates=${join(dir, 'client')}`], /--tls-certificates=\S+: cannot read server-cert.pem/],
      [['--tls=on', `--tls-certificates=${join(dir, 'server')}`, `--tls-psk=${join(dir, 'keys.psk')}`], /cannot be used together/],
    ];
    for (const [args, message] of cases) {
      const r = await run(process.execPath, [cliPath(), '-f', '-U', join(dir, 'never.sock'), ...args, 'file', image]);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});
