import { createHash, randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, run, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { startCeph, type Ceph } from './ceph.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface MapEntry {
  offset: number;
  length: number;
  type: number;
}

async function map(uri: string): Promise<MapEntry[]> {
  return JSON.parse((await runOk('nbdinfo', ['--map', '--json', uri])).stdout) as MapEntry[];
}

/** The chunk indices a map reports as data. */
function dataChunks(entries: MapEntry[], objectSize: number): number[] {
  const chunks = new Set<number>();
  for (const e of entries) {
    if (e.type !== 0) continue;
    for (let c = Math.floor(e.offset / objectSize); c * objectSize < e.offset + e.length; c++) chunks.add(c);
  }
  return [...chunks].sort((a, b) => a - b);
}

const chunkName = (key: string, index: number) => `${key}/${index.toString(16).padStart(16, '0')}`;

describe('plugin-s3 with real clients against a real Ceph cluster', () => {
  let ceph: Ceph;
  let dir: string;
  const servers: ServerProcess[] = [];

  /** Starts `nbdkit-ts s3` on the test bucket with the owner's keys. */
  async function serve(key: string, ...extra: string[]): Promise<ServerProcess> {
    const s = await startServer(['s3', `endpoint=${ceph.endpoint}`, 'bucket=disks', `key=${key}`, `access-key=${ceph.accessKey}`, `secret-key=${ceph.secretKey}`, ...extra]);
    servers.push(s);
    return s;
  }

  /** Starts a server that must fail, and returns what it printed. */
  async function refused(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
    const err = await startServer(['s3', ...args], env === undefined ? {} : { env }).then(
      async (s) => {
        await s.stop();
        throw new Error(`the server started with ${args.join(' ')}`);
      },
      (e: unknown) => (e as Error).message,
    );
    return err;
  }

  beforeAll(async () => {
    ceph = await startCeph();
    await ceph.createBucket('disks');
    dir = tempDir();
    // An existing disk for the tests that open one: 1 MiB of 0x11.
    const s = await serve('base', 'size=1M');
    await nbdsh(s.uri, `h.pwrite(b'\\x11' * (1024 * 1024), 0)`);
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    // Undefined when beforeAll failed to start it.
    await (ceph as Ceph | undefined)?.stop();
    if ((dir as string | undefined) !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('a new 20 GiB disk is one metadata object and one hole', async () => {
    const s = await serve('new20', 'size=20G');
    const info = JSON.parse((await runOk('nbdinfo', ['--json', s.uri])).stdout) as { exports: Record<string, unknown>[] };
    const e = info.exports[0] as Record<string, unknown>;
    expect(e['export-size']).toBe(20 * 1024 * MiB);
    expect(e['is_read_only']).toBe(false);
    expect(e['can_multi_conn']).toBe(true);
    expect(e['can_fua']).toBe(true);
    expect(e['can_flush']).toBe(true);
    expect(e['can_trim']).toBe(true);
    expect(e['can_zero']).toBe(true);
    expect(e['can_fast_zero']).toBe(true);
    expect(e['block_size_preferred']).toBe(4 * MiB);
    expect(await map(s.uri)).toEqual([{ offset: 0, length: 20 * 1024 * MiB, type: 3, description: 'hole,zero' }]);
    expect(await ceph.keys('disks', 'new20/')).toEqual(['new20/metadata.json']);
    const meta = JSON.parse((await ceph.object('disks', 'new20/metadata.json')).toString()) as Record<string, unknown>;
    expect(meta).toMatchObject({ size: String(20 * 1024 * MiB), objectSize: 4 * MiB });
  });

  it('qemu-img convert of a sparse image into the disk and back keeps the data and the holes', async () => {
    const image = join(dir, 'sparse.img');
    const size = 48 * MiB;
    writeFileSync(image, Buffer.alloc(0));
    const data = Buffer.alloc(size);
    randomBytes(3 * MiB).copy(data, 5 * MiB); // chunks 5, 6, 7
    randomBytes(12 * 1024).copy(data, 20 * MiB + 12 * 1024); // inside chunk 20
    randomBytes(12 * 1024).copy(data, 31 * MiB - 6 * 1024); // across chunks 30 and 31
    randomBytes(1024).copy(data, size - 1024); // the end of chunk 47
    // Write only the non-zero 4K blocks so the image itself is sparse.
    const fd = openSync(image, 'r+');
    ftruncateSync(fd, size);
    for (let at = 0; at < size; at += 4096) {
      const block = data.subarray(at, at + 4096);
      if (block.some((b) => b !== 0)) writeSync(fd, block, 0, 4096, at);
    }
    closeSync(fd);

    const s = await serve('sparse', `size=${size}`, 'object-size=1M');
    await runOk('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', image, s.uri]);
    const chunks = [5, 6, 7, 20, 30, 31, 47];
    expect(await ceph.keys('disks', 'sparse/')).toEqual([...chunks.map((c) => chunkName('sparse', c)), 'sparse/metadata.json']);
    expect(dataChunks(await map(s.uri), MiB)).toEqual(chunks);

    const back = join(dir, 'back.img');
    await runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', s.uri, back]);
    expect(sha(readFileSync(back))).toBe(sha(data));
    expect(statSync(back).blocks * 512).toBeLessThan(8 * MiB);
  });

  it('nbdcopy --connections=4 copies in and out byte for byte', async () => {
    const src = join(dir, 'random.img');
    writeFileSync(src, randomBytes(16 * MiB));
    const s = await serve('copy', 'size=16M');
    await runOk('nbdcopy', ['--connections=4', '--flush', src, s.uri]);
    expect(await ceph.keys('disks', 'copy/')).toHaveLength(4 + 1);
    const out = join(dir, 'random-back.img');
    await runOk('nbdcopy', ['--connections=4', s.uri, out]);
    expect(sha(readFileSync(out))).toBe(sha(readFileSync(src)));
  });

  it('concurrent writes to one chunk from eight connections lose no update', async () => {
    const s = await serve('shared', 'size=4M', 'object-size=1M');
    await nbdsh(
      s.uri,
      `
import select
h.pwrite(b'\\xaa' * (1024 * 1024), 1024 * 1024)
N, K = 8, 32
hs = []
for i in range(N):
    x = nbd.NBD()
    x.connect_uri(${JSON.stringify(s.uri)})
    hs.append(x)
cookies = []
for j in range(K):
    for i, x in enumerate(hs):
        off = 1024 * 1024 + (j * N + i) * 4096
        buf = nbd.Buffer.from_bytearray(bytearray([(i * K + j) % 251 + 1]) * 2048)
        cookies.append((x, x.aio_pwrite(buf, off), buf))
while any(x.aio_in_flight() > 0 for x in hs):
    rl, wl = [], []
    for x in hs:
        if x.aio_in_flight() == 0:
            continue
        d = x.aio_get_direction()
        if d & nbd.AIO_DIRECTION_READ:
            rl.append(x.aio_get_fd())
        if d & nbd.AIO_DIRECTION_WRITE:
            wl.append(x.aio_get_fd())
    r, w, _ = select.select(rl, wl, [], 30)
    assert r or w, 'no progress in 30 s'
    for x in hs:
        if x.aio_get_fd() in r:
            x.aio_notify_read()
        if x.aio_get_fd() in w:
            x.aio_notify_write()
for x, c, _ in cookies:
    assert x.aio_command_completed(c)
got = h.pread(1024 * 1024, 1024 * 1024)
for j in range(K):
    for i in range(N):
        at = (j * N + i) * 4096
        assert got[at:at + 2048] == bytearray([(i * K + j) % 251 + 1]) * 2048, ('lost write', i, j)
        assert got[at + 2048:at + 4096] == b'\\xaa' * 2048, ('lost old data', i, j)
`,
    );
  });

  it('unaligned writes, zeroes and trims across chunks read back as a model says', async () => {
    const size = MiB + 12345; // 17 chunks of 64K, the last one short
    const s = await serve('model', `size=${size}`, 'object-size=64K');
    await nbdsh(
      s.uri,
      `
import random
rnd = random.Random(7)
size = ${size}
model = bytearray(size)
for n in range(100):
    off = rnd.randrange(size)
    length = min(rnd.randrange(1, 150000), size - off)
    flags = nbd.CMD_FLAG_FUA if rnd.random() < 0.3 else 0
    kind = rnd.random()
    if kind < 0.6:
        data = rnd.randbytes(length)
        h.pwrite(data, off, flags)
        model[off:off + length] = data
    elif kind < 0.8:
        h.zero(length, off, flags)
        model[off:off + length] = bytes(length)
    else:
        h.trim(length, off, flags)
        model[off:off + length] = bytes(length)
assert h.pread(size, 0) == model, 'disk differs from the model'
seen = []
def extent(meta, offset, entries, err):
    for i in range(0, len(entries), 2):
        seen.append((entries[i], entries[i + 1]))
    return 0
g = nbd.NBD()
g.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
g.connect_uri(${JSON.stringify(s.uri)})
at = 0
while at < size:
    seen.clear()
    g.block_status(size - at, at, extent)
    for length, flags in seen:
        if flags & nbd.STATE_HOLE:
            assert model[at:at + length] == bytes(length), ('a hole that is not zero', at, length)
        at += length
`,
    );
  });

  it('zeroing whole chunks deletes their objects; FAST_ZERO of part of a chunk is refused', async () => {
    const s = await serve('zeroes', 'size=4M', 'object-size=1M');
    await nbdsh(s.uri, `h.pwrite(b'\\x11' * (4 * 1024 * 1024), 0)`);
    expect(await ceph.keys('disks', 'zeroes/')).toHaveLength(5);
    await nbdsh(
      s.uri,
      `
MiB = 1024 * 1024
h.zero(2 * MiB, MiB, nbd.CMD_FLAG_FAST_ZERO)
h.trim(512 * 1024, 3 * MiB)
try:
    h.zero(4096, 4096, nbd.CMD_FLAG_FAST_ZERO)
    raise AssertionError('FAST_ZERO of part of a chunk succeeded')
except nbd.Error as e:
    assert e.errno == 'ENOTSUP', e
d = h.pread(4 * MiB, 0)
assert d[:MiB] == b'\\x11' * MiB
assert d[MiB:3 * MiB + 512 * 1024] == bytes(2 * MiB + 512 * 1024)
assert d[3 * MiB + 512 * 1024:] == b'\\x11' * (512 * 1024)
`,
    );
    expect(await ceph.keys('disks', 'zeroes/')).toEqual([chunkName('zeroes', 0), chunkName('zeroes', 3), 'zeroes/metadata.json']);
    expect(await map(s.uri)).toEqual([
      { offset: 0, length: MiB, type: 0, description: 'data' },
      { offset: MiB, length: 2 * MiB, type: 3, description: 'hole,zero' },
      { offset: 3 * MiB, length: MiB, type: 0, description: 'data' },
    ]);
  });

  it('-r serves an existing disk read-only, and a missing one as zeroes without creating it', async () => {
    const s = await serve('base', '-r');
    const { stdout } = await runOk('nbdinfo', ['--json', s.uri]);
    expect((JSON.parse(stdout) as { exports: Record<string, unknown>[] }).exports[0]?.['is_read_only']).toBe(true);
    await nbdsh(
      s.uri,
      `
try:
    h.pwrite(b'x', 0)
    raise AssertionError('write succeeded')
except nbd.Error as e:
    assert e.errno == 'EPERM', e
assert h.pread(4, 0) == b'\\x11' * 4
`,
    );
    const fresh = await serve('never-created', 'size=1M', '-r');
    await nbdsh(fresh.uri, `assert h.pread(1024 * 1024, 0) == bytes(1024 * 1024)`);
    expect(await ceph.keys('disks', 'never-created/')).toEqual([]);
  });

  it('takes credentials from the environment and from a credentials file, and addresses virtual hosts', async () => {
    const common = [`endpoint=${ceph.endpoint}`, 'bucket=disks', 'key=base'];
    const fromEnv = await startServer(['s3', ...common], { env: { AWS_ACCESS_KEY_ID: ceph.accessKey, AWS_SECRET_ACCESS_KEY: ceph.secretKey } });
    servers.push(fromEnv);
    await nbdsh(fromEnv.uri, `assert h.pread(4, 0) == b'\\x11' * 4`);

    const file = join(dir, 'credentials');
    writeFileSync(file, `[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n\n[disks]\naws_access_key_id = ${ceph.accessKey}\naws_secret_access_key = ${ceph.secretKey}\n`);
    const fromFile = await startServer(['s3', ...common, `credentials-file=${file}`, 'profile=disks']);
    servers.push(fromFile);
    await nbdsh(fromFile.uri, `assert h.pread(4, 0) == b'\\x11' * 4`);
    expect(await refused([...common, `credentials-file=${file}`])).toMatch(/access denied \(InvalidAccessKeyId\)/);

    const vhost = await startServer([
      's3',
      `endpoint=http://localhost:${ceph.port}`,
      'addressing=virtual-host',
      'bucket=disks',
      'key=vhost',
      'size=1M',
      `access-key=${ceph.accessKey}`,
      `secret-key=${ceph.secretKey}`,
    ]);
    servers.push(vhost);
    await nbdsh(vhost.uri, `h.pwrite(b'v' * 4096, 0)\nassert h.pread(4096, 0) == b'v' * 4096`);
    expect(await ceph.keys('disks', 'vhost/')).toEqual([chunkName('vhost', 0), 'vhost/metadata.json']);
  });

  it('reports a missing bucket, wrong keys, a missing disk and a mismatch clearly at startup', async () => {
    const owner = [`endpoint=${ceph.endpoint}`, `access-key=${ceph.accessKey}`, `secret-key=${ceph.secretKey}`];
    expect(await refused([...owner, 'bucket=nosuch', 'key=vm1', 'size=1M'])).toMatch(/s3:\/\/nosuch\/vm1\/metadata\.json: the bucket does not exist at http:\/\/127\.0\.0\.1:\d+/);
    expect(await refused([`endpoint=${ceph.endpoint}`, `access-key=${ceph.accessKey}`, 'secret-key=wrong', 'bucket=disks', 'key=base'])).toMatch(
      /access denied \(SignatureDoesNotMatch\): check the credentials/,
    );
    expect(await refused([`endpoint=${ceph.endpoint}`, `access-key=${ceph.otherAccessKey}`, `secret-key=${ceph.otherSecretKey}`, 'bucket=disks', 'key=base'])).toMatch(
      /access denied \(AccessDenied\)/,
    );
    expect(await refused([...owner, 'bucket=disks', 'key=absent'])).toMatch(/there is no disk at s3:\/\/disks\/absent\/: give size= to create one/);
    expect(await refused([...owner, 'bucket=disks', 'key=base', 'size=1G'])).toMatch(
      /size=1073741824 does not match the disk at s3:\/\/disks\/base\/, which is 1048576 bytes/,
    );
    expect(await refused([...owner, 'bucket=disks', 'key=base', 'object-size=1M'])).toMatch(/object-size=1048576 does not match the disk at s3:\/\/disks\/base\//);
    const closed = await run('node', ['-e', 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})']);
    expect(await refused([`endpoint=http://127.0.0.1:${closed.stdout.trim()}`, 'access-key=a', 'secret-key=b', 'bucket=disks', 'key=base', 'max-attempts=1'])).toMatch(
      /cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
    );
  });

  it('a user who may only read gets EPERM for writes', async () => {
    await ceph.allowOtherToRead('disks');
    const s = await startServer(['s3', `endpoint=${ceph.endpoint}`, `access-key=${ceph.otherAccessKey}`, `secret-key=${ceph.otherSecretKey}`, 'bucket=disks', 'key=base', '-v']);
    servers.push(s);
    await nbdsh(
      s.uri,
      `
assert h.pread(4, 0) == b'\\x11' * 4
try:
    h.pwrite(b'x' * 4096, 0)
    raise AssertionError('write succeeded')
except nbd.Error as e:
    assert e.errno == 'EPERM', e
`,
    );
    expect(s.stderr()).toMatch(/PUT s3:\/\/disks\/base\/0000000000000000: access denied \(AccessDenied\)/);
  });
});
