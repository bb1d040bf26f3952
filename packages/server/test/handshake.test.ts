import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { RawClient } from './raw-client.js';
import { NBD_CMD_DISC, NBD_CMD_READ, NBD_CMD_WRITE, NBD_ENOMEM, NBD_OPT_ABORT, NBD_OPT_EXPORT_NAME, NBD_OPT_INFO, NBD_OPT_LIST, NBD_OPT_SET_META_CONTEXT, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, NBD_REP_ERR_INVALID, NBD_REP_ERR_TOO_BIG, NBD_REP_ERR_UNSUP, NBD_REP_SERVER } from '../src/protocol/constants.js';

const SIZE = 1024 * 1024;

describe('handshake and framing, byte by byte', () => {
  let dir: string;
  let image: string;
  let server: ServerProcess;
  const pattern = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) pattern[i] = (i * 7 + (i >> 9)) & 0xff;

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    writeFileSync(image, pattern);
    server = await startServer(['file', image]);
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async () => {
    const c = await RawClient.connect(server.socket);
    expect(await c.handshake()).toBe(3);
    return c;
  };

  it('an unknown option gets ERR_UNSUP and the handshake goes on', async () => {
    const c = await open();
    c.sendOption(42, Buffer.from('whatever'));
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ERR_UNSUP);
    c.sendOption(11);
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ERR_UNSUP);
    const go = await c.go();
    expect(go.type).toBe(NBD_REP_ACK);
    const exp = go.infos.find((i) => i.readUInt16BE(0) === 0) as Buffer;
    expect(exp.readBigUInt64BE(2)).toBe(BigInt(SIZE));
    c.close();
  });

  it('LIST names the export; LIST with data is invalid', async () => {
    const c = await open();
    c.sendOption(NBD_OPT_LIST, Buffer.from([1]));
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ERR_INVALID);
    c.sendOption(NBD_OPT_LIST);
    const first = await c.readOptionReply();
    expect(first.type).toBe(NBD_REP_SERVER);
    expect(first.data.readUInt32BE(0)).toBe(0);
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ACK);
    c.close();
  });

  it('structured replies once; meta contexts need them', async () => {
    const c = await open();
    const meta = Buffer.alloc(8);
    c.sendOption(NBD_OPT_SET_META_CONTEXT, meta);
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ERR_INVALID);
    c.sendOption(NBD_OPT_STRUCTURED_REPLY);
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ACK);
    c.sendOption(NBD_OPT_STRUCTURED_REPLY);
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ERR_INVALID);
    c.sendOption(NBD_OPT_SET_META_CONTEXT, Buffer.from([0, 0, 0]));
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ERR_INVALID);
    c.close();
  });

  it('an option longer than the limit gets ERR_TOO_BIG, its data is drained, the handshake goes on', async () => {
    const c = await open();
    c.sendOption(NBD_OPT_INFO, Buffer.alloc(100_000, 0x41));
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ERR_TOO_BIG);
    expect((await c.go()).type).toBe(NBD_REP_ACK);
    c.close();
  });

  it('an export name longer than 4096 bytes is invalid', async () => {
    const c = await open();
    expect((await c.go('x'.repeat(5000))).type).toBe(NBD_REP_ERR_INVALID);
    expect((await c.go()).type).toBe(NBD_REP_ACK);
    c.close();
  });

  it('INFO answers without entering transmission; ABORT is acknowledged and closes', async () => {
    const c = await open();
    expect((await c.go('', NBD_OPT_INFO)).type).toBe(NBD_REP_ACK);
    c.sendOption(NBD_OPT_ABORT);
    expect((await c.readOptionReply()).type).toBe(NBD_REP_ACK);
    await c.waitClosed();
  });

  it('EXPORT_NAME with NO_ZEROES answers size and flags in 10 bytes, then serves reads', async () => {
    const c = await open();
    c.sendOption(NBD_OPT_EXPORT_NAME, Buffer.from(''));
    const r = await c.read(10);
    expect(r.readBigUInt64BE(0)).toBe(BigInt(SIZE));
    c.sendRequest(NBD_CMD_READ, 9n, 512n, 512);
    expect(await c.readSimpleReply()).toEqual({ error: 0, cookie: 9n });
    expect((await c.read(512)).equals(pattern.subarray(512, 1024))).toBe(true);
    c.close();
  });

  it('EXPORT_NAME without NO_ZEROES pads with 124 zeroes', async () => {
    const c = await RawClient.connect(server.socket);
    await c.handshake(1);
    c.sendOption(NBD_OPT_EXPORT_NAME);
    const r = await c.read(134);
    expect(r.subarray(10).every((b) => b === 0)).toBe(true);
    c.close();
  });

  it('a write above 64 MiB gets an error, its payload is drained and the stream stays in step', async () => {
    const c = await open();
    expect((await c.go()).type).toBe(NBD_REP_ACK);
    const big = 65 * 1024 * 1024;
    c.sendRequest(NBD_CMD_WRITE, 1n, 0n, big, 0, Buffer.alloc(big, 0xee));
    c.sendRequest(NBD_CMD_READ, 2n, 0n, 4096);
    c.sendRequest(NBD_CMD_READ, 3n, 0n, big);
    expect(await c.readSimpleReply()).toEqual({ error: NBD_ENOMEM, cookie: 1n });
    const replies = [await c.readSimpleReply()];
    expect((await c.read(4096)).equals(pattern.subarray(0, 4096))).toBe(true);
    replies.push(await c.readSimpleReply());
    expect(replies).toEqual([
      { error: 0, cookie: 2n },
      { error: NBD_ENOMEM, cookie: 3n },
    ]);
    expect(readFileSync(image).equals(pattern)).toBe(true);
    c.sendRequest(NBD_CMD_DISC, 4n, 0n, 0);
    await c.waitClosed();
  });

  it('64 requests in flight on one connection are all answered with the right data', async () => {
    const c = await open();
    expect((await c.go()).type).toBe(NBD_REP_ACK);
    for (let i = 0; i < 64; i++) c.sendRequest(NBD_CMD_READ, BigInt(1000 + i), BigInt(i * 4096), 4096);
    const seen = new Set<bigint>();
    for (let i = 0; i < 64; i++) {
      const r = await c.readSimpleReply();
      expect(r.error).toBe(0);
      const n = Number(r.cookie) - 1000;
      expect((await c.read(4096)).equals(pattern.subarray(n * 4096, n * 4096 + 4096))).toBe(true);
      seen.add(r.cookie);
    }
    expect(seen.size).toBe(64);
    c.close();
  });

  it('garbage after the handshake closes that connection only', async () => {
    const bad = await open();
    expect((await bad.go()).type).toBe(NBD_REP_ACK);
    bad.write(Buffer.alloc(28, 0x55));
    await bad.waitClosed();
    const bad2 = await RawClient.connect(server.socket);
    await bad2.read(18);
    bad2.write(Buffer.from([0, 0, 0, 0xff]));
    await bad2.waitClosed();
    const good = await open();
    expect((await good.go()).type).toBe(NBD_REP_ACK);
    good.sendRequest(NBD_CMD_READ, 1n, 0n, 16);
    expect((await good.readSimpleReply()).error).toBe(0);
    good.close();
  });
});

describe('NBD_INFO_BLOCK_SIZE', () => {
  const sizes = 'print(*[h.get_block_size(k) for k in [nbd.SIZE_MINIMUM, nbd.SIZE_PREFERRED, nbd.SIZE_MAXIMUM]])';
  const disk = ['eval', 'get_size=echo 128M', 'pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none'];

  it("advertises the layers' block sizes as they are, a maximum above the largest request included (as nbdkit)", async () => {
    const server = await startServer([...disk, 'block_size=echo 1 4096 4294967295']);
    try {
      expect((await nbdsh(server.uri, sizes)).stdout.trim()).toBe('1 4096 4294967295');
      // A read above 64 MiB, which the advertised maximum allows, is still refused; the connection goes on.
      const c = await RawClient.connect(server.socket);
      expect(await c.handshake()).toBe(3);
      expect((await c.go()).type).toBe(NBD_REP_ACK);
      c.sendRequest(NBD_CMD_READ, 1n, 0n, 64 * 1024 * 1024 + 4096);
      c.sendRequest(NBD_CMD_READ, 2n, 0n, 4096);
      expect(await c.readSimpleReply()).toEqual({ error: NBD_ENOMEM, cookie: 1n });
      expect(await c.readSimpleReply()).toEqual({ error: 0, cookie: 2n });
      expect((await c.read(4096)).equals(Buffer.alloc(4096))).toBe(true);
      c.close();
    } finally {
      await server.stop();
    }
  });

  it("without block sizes from the layers, advertises the server's own to a client that asks: at most 64 MiB", async () => {
    const server = await startServer(disk);
    try {
      expect((await nbdsh(server.uri, sizes)).stdout.trim()).toBe(`1 4096 ${64 * 1024 * 1024}`);
    } finally {
      await server.stop();
    }
  });
});
