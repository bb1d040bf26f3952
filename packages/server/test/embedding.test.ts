import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_VERSION, defineFilter, definePlugin, errorCode, nbdError, type Next } from '@nbdkit-ts/core';
import { NBDSH_EXPECT_ERROR, nbdsh, run, tempDir } from '@nbdkit-ts/testing';
import { createServer } from '../src/index.js';
import { useEmbeddedServers } from './embedded-servers.js';
import { memoryPlugin } from './memory-plugin.js';

const PRELUDE = `
${NBDSH_EXPECT_ERROR}h.set_strict_mode(0)
`;

describe('the embedding API', () => {
  const { serve, later } = useEmbeddedServers();

  it('serves a plugin object; hooks run in nbdkit order; close runs cleanup', async () => {
    const { def, calls, data } = memoryPlugin();
    const server = await createServer({ plugin: def, params: ['tag=x'] });
    const dir = tempDir();
    const { uri } = await server.listen({ socket: join(dir, 's') });
    await nbdsh(uri, `h.pwrite(b"hello", 100)\nassert h.pread(5, 100) == b"hello"`);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    expect(data.subarray(100, 105).toString()).toBe('hello');
    expect(calls.events.filter((e) => !e.startsWith('pwrite'))).toEqual([
      'config tag=x',
      'configComplete',
      'ready',
      'preconnect',
      'open ',
      'prepare',
      'finalize',
      'close',
      'cleanup',
    ]);
  });

  it("a filter's preconnect runs the layers' beneath through backend.preconnect, or skips them", async () => {
    for (const passOn of [true, false]) {
      const { def, calls } = memoryPlugin();
      const checker = defineFilter({
        apiVersion: API_VERSION,
        name: 'checker',
        async preconnect(client, backend) {
          calls.events.push(`checker readonly=${client.readonly}`);
          if (passOn) await backend.preconnect(client);
          calls.events.push('checker done');
        },
      });
      const uri = await serve(await createServer({ plugin: def, filters: [checker], readonly: true }));
      await nbdsh(uri, 'h.pread(1, 0)');
      const events = calls.events.filter((e) => e !== 'configComplete' && e !== 'ready');
      expect(events.slice(0, passOn ? 4 : 3)).toEqual(passOn ? ['checker readonly=true', 'preconnect', 'checker done', 'open '] : ['checker readonly=true', 'checker done', 'open ']);
    }
  });

  it('a refusal from a preconnect beneath reaches the filter that passed the check on, and refuses the client', async () => {
    const refusing = definePlugin({
      apiVersion: API_VERSION,
      name: 'refusing',
      preconnect: () => {
        throw nbdError('EPERM', 'not this client');
      },
      open: () => ({ capabilities: () => ({ size: 512n }), pread: () => {} }),
    });
    const seen: string[] = [];
    const watcher = defineFilter({
      apiVersion: API_VERSION,
      name: 'watcher',
      async preconnect(client, backend) {
        try {
          await backend.preconnect(client);
        } catch (e) {
          seen.push(errorCode(e));
          throw e;
        }
      },
    });
    const uri = await serve(await createServer({ plugin: refusing, filters: [watcher] }));
    const r = await run('nbdinfo', [uri]);
    expect(r.status).not.toBe(0);
    expect(seen).toEqual(['EPERM']);
  });

  it('two servers in one process keep their own configuration', async () => {
    const dir = tempDir();
    later(() => rmSync(dir, { recursive: true, force: true }));
    const a = join(dir, 'a.img');
    const b = join(dir, 'b.img');
    await run('truncate', ['-s', '1M', a]);
    await run('truncate', ['-s', '2M', b]);
    const [uriA, uriB] = await Promise.all([
      createServer({ plugin: 'file', params: [a] }).then(serve),
      createServer({ plugin: 'file', params: [b] }).then(serve),
    ]);
    expect((await run('nbdinfo', ['--size', uriA])).stdout.trim()).toBe('1048576');
    expect((await run('nbdinfo', ['--size', uriB])).stdout.trim()).toBe('2097152');
  });

  it('emulates zero by writing zeroes; FAST_ZERO fails fast with ENOTSUP, or EINVAL where not advertised', async () => {
    // No zero call: emulated, fast zero advertised and refused. A zero call that fails with
    // ENOTSUP: the server falls back to writing; fast zero is not advertised.
    for (const [zero, fastZero] of [
      ['none', 'ENOTSUP'],
      ['enotsup', 'EINVAL'],
    ] as const) {
      const { def, calls, data } = memoryPlugin({ zero });
      data.fill(0xff);
      const uri = await serve(await createServer({ plugin: def }));
      await nbdsh(uri, PRELUDE + `h.zero(8192, 4096)\nexpect_error(errno.${fastZero}, h.zero, 4096, 0, nbd.CMD_FLAG_FAST_ZERO)\nassert h.pread(4096, 0) == b"\\xff" * 4096`);
      expect(data.subarray(4096, 12288).every((x) => x === 0)).toBe(true);
      expect(calls.pwrite).toBe(1);
      expect(calls.zero).toBe(zero === 'enotsup' ? 1 : 0);
    }
  });

  it('emulates FUA with a flush, and passes native FUA through', async () => {
    for (const fua of ['emulate', 'native'] as const) {
      const { def, calls } = memoryPlugin({ fua, zero: 'native' });
      const uri = await serve(await createServer({ plugin: def }));
      await nbdsh(uri, `h.pwrite(b"x" * 512, 0, nbd.CMD_FLAG_FUA)\nh.zero(512, 512, nbd.CMD_FLAG_FUA)`);
      expect(calls.flush).toBe(fua === 'emulate' ? 2 : 0);
      expect(calls.events.includes('pwrite+FUA')).toBe(fua === 'native');
    }
  });

  it('enforces the strictest concurrency in the stack', async () => {
    // Every client connects, waits until all are connected (files in a folder as the
    // barrier), then sends 8 reads at once: their connections overlap whatever the load.
    const script = (barrier: string, index: number, connections: number) => `
import os, time
open(os.path.join("${barrier}", "${index}"), "w").close()
while len(os.listdir("${barrier}")) < ${connections}:
    time.sleep(0.01)
bufs = [nbd.Buffer(512) for _ in range(8)]
for i, b in enumerate(bufs):
    h.aio_pread(b, i * 512)
while h.aio_in_flight() > 0:
    h.poll(-1)
`;
    const measure = async (concurrency: 'parallel' | 'serialize-requests' | 'serialize-all-requests' | 'serialize-connections', connections: number) => {
      const { def, calls } = memoryPlugin({ concurrency, readDelay: 50 });
      const uri = await serve(await createServer({ plugin: def }));
      const barrier = tempDir();
      later(() => rmSync(barrier, { recursive: true, force: true }));
      await Promise.all(Array.from({ length: connections }, (_, i) => nbdsh(uri, script(barrier, i, connections))));
      return calls.maxActive;
    };
    expect(await measure('parallel', 1)).toBeGreaterThan(1);
    expect(await measure('serialize-requests', 1)).toBe(1);
    expect(await measure('serialize-requests', 2)).toBe(2);
    expect(await measure('serialize-all-requests', 2)).toBe(1);
    expect(await measure('serialize-connections', 1)).toBe(1);
  });

  it('maxRequestsInFlight (-t) bounds the requests of a connection handed to the layers at once', async () => {
    // 8 reads sent at once, each held by the plugin until they could all have started.
    const measure = async (maxRequestsInFlight: number | undefined) => {
      const { def, calls } = memoryPlugin({ readDelay: 50 });
      const uri = await serve(await createServer({ plugin: def, ...(maxRequestsInFlight === undefined ? {} : { maxRequestsInFlight }) }));
      await nbdsh(uri, 'bufs = [nbd.Buffer(512) for _ in range(8)]\nfor i, b in enumerate(bufs):\n    h.aio_pread(b, i * 512)\nwhile h.aio_in_flight() > 0:\n    h.poll(-1)');
      expect(calls.pread).toBe(8);
      return calls.maxActive;
    };
    expect(await measure(1)).toBe(1);
    expect(await measure(3)).toBe(3);
    expect(await measure(undefined)).toBe(8);
    await expect(createServer({ plugin: memoryPlugin().def, maxRequestsInFlight: 0 })).rejects.toThrow('maxRequestsInFlight: 0 is not an integer of at least 1');
  });

  it('serialize-connections makes a second client wait for the first, and drops multi-conn', async () => {
    const { def, calls } = memoryPlugin({ concurrency: 'serialize-connections', multiConn: true });
    const server = await createServer({ plugin: def });
    const uri = await serve(server);
    const info = JSON.parse((await run('nbdinfo', ['--json', uri])).stdout) as { exports: { can_multi_conn: boolean }[] };
    expect(info.exports[0]?.can_multi_conn).toBe(false);
    calls.events.length = 0;
    // The first client holds its connection until the file `release` exists;
    // the second connects while it does, and must wait for it to leave.
    const release = join(tempDir(), 'release');
    const first = nbdsh(uri, `import os, time\nh.pread(1, 0)\nwhile not os.path.exists("${release}"):\n    time.sleep(0.01)`);
    await expect.poll(() => calls.events.includes('open ')).toBe(true);
    const second = nbdsh(uri, 'h.pread(1, 0)');
    await expect.poll(() => server.slotsInUse).toBe(2);
    expect(calls.events.filter((e) => e.startsWith('open'))).toEqual(['open ']);
    writeFileSync(release, '');
    await Promise.all([first, second]);
    const opens = calls.events.filter((e) => e.startsWith('open') || e === 'close');
    expect(opens).toEqual(['open ', 'close', 'open ', 'close']);
  });

  it('a filter that leaves calls out passes them through; one it overrides sees every call', async () => {
    const { def, data } = memoryPlugin();
    const xor = defineFilter({
      apiVersion: API_VERSION,
      name: 'xor',
      open: async (ctx) => {
        await ctx.openNext();
        return {
          async pread(buf, offset, flags) {
            await (ctx.next as Next).pread(buf, offset, flags);
            for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) ^ 0xff;
          },
        };
      },
    });
    const uri = await serve(await createServer({ plugin: def, filters: [xor] }));
    await nbdsh(uri, `h.pwrite(b"\\x0f" * 4, 0)\nassert h.pread(4, 0) == b"\\xf0" * 4\nh.flush()`);
    expect(data.subarray(0, 4)).toEqual(Buffer.alloc(4, 0x0f));
  });

  it('a filter serves every connection from one shared context opened in ready', async () => {
    const { def, calls } = memoryPlugin();
    let shared: Next | undefined;
    const sharing = defineFilter({
      apiVersion: API_VERSION,
      name: 'sharing',
      ready: async (backend) => {
        shared = await backend.open({ shared: true });
      },
      cleanup: () => shared?.close(),
      open: () => ({
        capabilities: () => ({ ...(shared as Next).capabilities }),
        pread: (buf, offset, flags) => (shared as Next).pread(buf, offset, flags),
        pwrite: (buf, offset, flags) => (shared as Next).pwrite(buf, offset, flags),
      }),
    });
    const uri = await serve(await createServer({ plugin: def, filters: [sharing] }));
    await Promise.all([nbdsh(uri, 'h.pwrite(b"a", 0)'), nbdsh(uri, 'h.pwrite(b"b", 1)')]);
    await nbdsh(uri, 'assert h.pread(2, 0) == b"ab"');
    expect(calls.events.filter((e) => e.startsWith('open'))).toEqual(['open ']);
  });

  it('outside a connection only shared contexts open, with a clear error', async () => {
    const { def } = memoryPlugin();
    const eager = defineFilter({ apiVersion: API_VERSION, name: 'eager', ready: async (backend) => {
        await backend.open();
      },
    });
    await expect(createServer({ plugin: def, filters: [eager] })).rejects.toThrow(/only shared contexts can be opened/);
  });

  it('setNext swaps the associated context and hands back the old one', async () => {
    const { def, calls } = memoryPlugin();
    const swapper = defineFilter({
      apiVersion: API_VERSION,
      name: 'swapper',
      open: async (ctx) => {
        await ctx.openNext();
        return {
          async flush() {
            const fresh = await ctx.backend.open();
            const old = ctx.setNext(fresh);
            await old?.close();
            await fresh.flush(0);
          },
        };
      },
    });
    const uri = await serve(await createServer({ plugin: def, filters: [swapper] }));
    await nbdsh(uri, 'h.flush()\nh.flush()\nh.pread(1, 0)');
    expect(calls.events.filter((e) => e.startsWith('open') || e === 'close')).toEqual(['open ', 'open ', 'close', 'open ', 'close', 'close']);
  });

  it('errors thrown by layers reach the client with their codes', async () => {
    const failing = definePlugin({
      apiVersion: API_VERSION,
      name: 'failing',
      open: () => ({
        capabilities: () => ({ size: 1024n }),
        pread: () => {
          throw nbdError('ENOSPC', 'sync');
        },
        pwrite: () => Promise.reject(nbdError('EROFS', 'async')),
        flush: () => {
          throw new Error('no code');
        },
      }),
    });
    const uri = await serve(await createServer({ plugin: failing }));
    await nbdsh(uri, PRELUDE + `expect_error(errno.ENOSPC, h.pread, 1, 0)\nexpect_error(errno.EPERM, h.pwrite, b"x", 0)\nexpect_error(errno.EIO, h.flush)`);
  });

  it('messages about a connection name the layer and the connection, as nbdkit does', async () => {
    const lines: string[] = [];
    const chatty = definePlugin({
      apiVersion: API_VERSION,
      name: 'chatty',
      ready: (host) => host.log.debug('ready'),
      open: (info) => {
        info.log.debug(`open "${info.exportName}"`);
        return { capabilities: () => ({ size: 512n }), pread: (buf: Uint8Array) => void buf.fill(0) };
      },
    });
    const uri = await serve(await createServer({ plugin: chatty, verbose: true, logSink: (l) => lines.push(l) }));
    await nbdsh(uri, 'h.pread(1, 0)');
    await nbdsh(uri, 'h.pread(1, 0)');
    expect(lines.filter((l) => l.startsWith('nbdkit-ts: chatty'))).toEqual([
      'nbdkit-ts: chatty: debug: ready',
      'nbdkit-ts: chatty[1]: debug: open ""',
      'nbdkit-ts: chatty[2]: debug: open ""',
    ]);
  });

  it('refuses a layer written for another API version, naming both versions', async () => {
    const old = { kind: 'plugin', create: () => ({ kind: 'plugin', apiVersion: 99, name: 'old', open: () => ({}) }) };
    await expect(createServer({ plugin: old as never })).rejects.toThrow(/plugin "old" \(embedded\) was written for API version 99, but this server implements API version 1/);
  });

  it('refuses a layer with a misspelt concurrency, a hook that is not a function or a malformed parameter, naming the field', async () => {
    const layer = (fields: object) => ({ kind: 'plugin', create: () => ({ kind: 'plugin', apiVersion: API_VERSION, name: 'odd', open: () => ({}), ...fields }) });
    await expect(createServer({ plugin: layer({ concurrency: 'serialise-requests' }) as never })).rejects.toThrow(
      'embedded: plugin "odd": concurrency "serialise-requests" is not one of parallel, serialize-requests, serialize-all-requests, serialize-connections',
    );
    await expect(createServer({ plugin: layer({ cleanup: 'yes' }) as never })).rejects.toThrow('embedded: plugin "odd": cleanup is not a function');
    await expect(createServer({ plugin: layer({ params: [{ name: 'size' }] }) as never })).rejects.toThrow('embedded: plugin "odd": params[0] (size) has no description');
  });
});
