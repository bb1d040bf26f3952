import { describe, expect, it } from 'vitest';
import { API_VERSION, defineFilter, definePlugin, errorCode, errorMessage, type Backend, type Context, type Host, type Next } from '@nbdkit-ts/core';
import { nbdsh, run } from '@nbdkit-ts/testing';
import { createServer } from '../src/index.js';
import { useEmbeddedServers } from './embedded-servers.js';
import { memoryPlugin } from './memory-plugin.js';

/** What a test filter learnt, outside the calls the server made. */
interface Seen {
  backend?: Backend;
  context?: Context;
  error?: unknown;
}

describe('contexts end with their scope', () => {
  const { serve, later } = useEmbeddedServers();

  const opened = (events: readonly string[]) => events.filter((e) => e === 'open ').length;
  const closed = (events: readonly string[]) => events.filter((e) => e === 'close').length;

  it("a backend kept from a connection refuses to open once the connection has ended, naming it", async () => {
    const { def, calls } = memoryPlugin();
    const seen: Seen = {};
    const keeper = defineFilter({
      apiVersion: API_VERSION,
      name: 'keeper',
      open: async (ctx) => {
        seen.backend = ctx.backend;
        await ctx.openNext();
        return {};
      },
    });
    const server = await createServer({ plugin: def, filters: [keeper] });
    const uri = await serve(server);
    await nbdsh(uri, 'h.pread(1, 0)');
    await expect((seen.backend as Backend).open()).rejects.toThrow(/memory: cannot open a context: connection 1 has ended/);
    expect(opened(calls.events)).toBe(1);
    expect(server.openContexts()).toEqual([
      { layer: 'keeper', open: 0 },
      { layer: 'memory', open: 0 },
    ]);
  });

  it('a client that said goodbye sees the server hang up only after the contexts closed (as nbdkit)', async () => {
    let release: () => void = () => {};
    const closing = new Promise<void>((r) => (release = r));
    const events: string[] = [];
    const slowClose = defineFilter({
      apiVersion: API_VERSION,
      name: 'slow-close',
      open: async (ctx) => {
        await ctx.openNext();
        return {
          close: async () => {
            events.push('close started');
            await closing;
            events.push('close done');
          },
        };
      },
    });
    const uri = await serve(await createServer({ plugin: memoryPlugin().def, filters: [slowClose] }));
    const client = nbdsh(uri, 'h.pread(1, 0)\nh.shutdown()').then(() => events.push('client saw the hang-up'));
    while (!events.includes('close started')) await new Promise((r) => setImmediate(r));
    // Give a client that was hung up on early the time to say so; then let the close finish.
    await Promise.race([client, new Promise((r) => setTimeout(r, 500))]);
    release();
    await client;
    expect(events).toEqual(['close started', 'close done', 'client saw the hang-up']);
  });

  it('setNext refuses a shared context and another connection\'s, with an error naming the filter', async () => {
    const { def } = memoryPlugin();
    let shared: Next | undefined;
    const errors: string[] = [];
    const contexts: Context[] = [];
    const swapper = defineFilter({
      apiVersion: API_VERSION,
      name: 'swapper',
      ready: async (backend) => {
        shared = await backend.open({ shared: true });
      },
      cleanup: () => shared?.close(),
      open: async (ctx) => {
        await ctx.openNext();
        contexts.push(ctx);
        try {
          ctx.setNext(shared);
        } catch (e) {
          errors.push(errorMessage(e));
        }
        const first = contexts[0] as Context;
        if (first !== ctx) {
          try {
            ctx.setNext(first.next);
          } catch (e) {
            errors.push(errorMessage(e));
          }
        }
        return {};
      },
    });
    const uri = await serve(await createServer({ plugin: def, filters: [swapper] }));
    await nbdsh(uri, 'h.pread(1, 0)');
    // The shared context was never taken over: later clients are served.
    await nbdsh(uri, 'h.pread(1, 0)');
    expect(errors).toEqual([
      'swapper: setNext: the context belongs to the shared scope, not to connection 1: only a context opened with this context\'s backend, without shared, can be associated',
      'swapper: setNext: the context belongs to the shared scope, not to connection 2: only a context opened with this context\'s backend, without shared, can be associated',
      'swapper: setNext: the context is closed',
    ]);
  });

  it("another live connection's context is refused too", async () => {
    const { def } = memoryPlugin({ readDelay: 200 });
    const contexts: Context[] = [];
    const errors: string[] = [];
    const thief = defineFilter({
      apiVersion: API_VERSION,
      name: 'thief',
      open: async (ctx) => {
        await ctx.openNext();
        const other = contexts[0];
        contexts.push(ctx);
        if (other !== undefined) {
          try {
            ctx.setNext(other.next);
          } catch (e) {
            errors.push(errorMessage(e));
          }
        }
        return {};
      },
    });
    const uri = await serve(await createServer({ plugin: def, filters: [thief] }));
    await nbdsh(uri, `
import nbd
h2 = nbd.NBD()
h2.connect_uri(${JSON.stringify(uri)})
h.pread(1, 0)
h2.pread(1, 0)
`);
    expect(errors).toEqual(['thief: setNext: the context belongs to connection 1, not to connection 2: only a context opened with this context\'s backend, without shared, can be associated']);
  });

  it('finalize runs only on a context whose prepare succeeded; close runs on both', async () => {
    const events: string[] = [];
    const plugin = definePlugin({
      apiVersion: API_VERSION,
      name: 'unprepared',
      open: () => ({
        prepare: () => {
          events.push('prepare');
          throw Object.assign(new Error('not today'), { code: 'EIO' });
        },
        finalize: () => void events.push('finalize'),
        close: () => void events.push('close'),
        capabilities: () => ({ size: 512n }),
      }),
    });
    const wrapper = defineFilter({
      apiVersion: API_VERSION,
      name: 'wrapper',
      open: async (ctx) => {
        await ctx.openNext();
        return { finalize: () => void events.push('wrapper finalize') };
      },
    });
    const uri = await serve(await createServer({ plugin, filters: [wrapper] }));
    const info = await run('nbdinfo', [uri]);
    expect(info.status).not.toBe(0);
    // The plugin's prepare failed: neither it nor the filter above it (never prepared) is finalized.
    // (nbdinfo tries more than once.)
    expect(events.length).toBeGreaterThan(0);
    expect(events.filter((e) => e !== 'prepare' && e !== 'close')).toEqual([]);
    expect(events.filter((e) => e === 'close')).toHaveLength(events.filter((e) => e === 'prepare').length);
  });

  it('at shutdown: background tasks stop, then shared contexts close outermost first, then cleanup hooks run outermost first', async () => {
    const { def, calls } = memoryPlugin();
    const order: string[] = [];
    const layer = (name: string) =>
      defineFilter({
        apiVersion: API_VERSION,
        name,
        ready: async (backend, host) => {
          const next = await backend.open({ shared: true });
          host.background(`${name}-task`, async (signal) => {
            await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
            // Still usable while the task winds down.
            await next.pread(new Uint8Array(1), 0n, 0);
            order.push(`${name} task done`);
          });
          const close = next.close.bind(next);
          next.close = () => {
            order.push(`${name}'s shared context closed`);
            return close();
          };
        },
        cleanup: () => void order.push(`${name} cleanup`),
      });
    const server = await createServer({ plugin: def, filters: [layer('outer'), layer('inner')] });
    await serve(server);
    await server.close();
    expect(order.slice(0, 2).sort()).toEqual(['inner task done', 'outer task done']);
    expect(order.slice(2)).toEqual(["outer's shared context closed", "inner's shared context closed", 'outer cleanup', 'inner cleanup']);
    expect(calls.events.slice(-1)).toEqual(['cleanup']);
    expect(opened(calls.events)).toBe(closed(calls.events));
  });

  it('a backend kept from ready refuses to open once shutdown has begun; an open in flight then is closed when it arrives', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const events: string[] = [];
    let opens = 0;
    const slow = definePlugin({
      apiVersion: API_VERSION,
      name: 'slow',
      open: async () => {
        // The second open (the task's) waits for the gate.
        if (++opens === 2) await gate;
        events.push(`open ${opens}`);
        const id = opens;
        return { capabilities: () => ({ size: 512n }), pread: (b: Uint8Array) => void b.fill(0), close: () => void events.push(`close ${id}`) };
      },
    });
    const seen: Seen = {};
    const keeper = defineFilter({
      apiVersion: API_VERSION,
      name: 'keeper',
      ready: async (backend, host) => {
        seen.backend = backend;
        const first = await backend.open({ shared: true });
        await first.close();
        host.background('opener', async () => {
          try {
            await backend.open({ shared: true });
          } catch (e) {
            seen.error = e;
          }
        });
      },
    });
    const server = await createServer({ plugin: slow, filters: [keeper] });
    await serve(server);
    const closing = server.close();
    release();
    await closing;
    expect(errorCode(seen.error)).toBe('ESHUTDOWN');
    expect(events).toEqual(['open 1', 'close 1', 'open 2', 'close 2']);
    await expect((seen.backend as Backend).open({ shared: true })).rejects.toThrow(/slow: cannot open a context: the server is shutting down/);
    expect(server.openContexts()).toEqual([
      { layer: 'keeper', open: 0 },
      { layer: 'slow', open: 0 },
    ]);
  });

  it("an open abandoned through its signal rejects at once (ECANCELED); the context is closed when it arrives", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const events: string[] = [];
    const slow = definePlugin({
      apiVersion: API_VERSION,
      name: 'slow',
      open: async () => {
        await gate;
        events.push('open');
        return { capabilities: () => ({ size: 512n }), close: () => void events.push('close') };
      },
    });
    const seen: Seen = {};
    const keeper = defineFilter({
      apiVersion: API_VERSION,
      name: 'keeper',
      ready: (backend) => {
        seen.backend = backend;
      },
    });
    const server = await createServer({ plugin: slow, filters: [keeper] });
    later(() => server.close());
    const abort = new AbortController();
    const opening = (seen.backend as Backend).open({ shared: true, signal: abort.signal });
    abort.abort();
    await expect(opening).rejects.toMatchObject({ code: 'ECANCELED' });
    release();
    await server.close();
    expect(events).toEqual(['open', 'close']);
  });

  it('a background task that fails is logged; one started after shutdown began is refused', async () => {
    const { def } = memoryPlugin();
    const lines: string[] = [];
    const hosts: Host[] = [];
    const tasks = defineFilter({
      apiVersion: API_VERSION,
      name: 'tasks',
      ready: (_backend, host) => {
        hosts.push(host);
        host.background('broken', () => Promise.reject(new Error('disk on fire')));
      },
    });
    const server = await createServer({ plugin: def, filters: [tasks], logSink: (l) => lines.push(l) });
    await server.close();
    expect(lines).toContain('nbdkit-ts: tasks: error: background task broken: disk on fire');
    expect(() => (hosts[0] as Host).background('late', () => Promise.resolve())).toThrow('background task late: not started, the server is shutting down');
  });

  it("openNext defaults to its own context's export name and read-only state, also in a shared context", async () => {
    const opened: string[] = [];
    const plugin = definePlugin({
      apiVersion: API_VERSION,
      name: 'recorder',
      open: (info) => {
        opened.push(`${info.exportName} ${info.readonly ? 'ro' : 'rw'}`);
        return { capabilities: () => ({ size: 512n }), pread: (b: Uint8Array) => void b.fill(0) };
      },
    });
    // The middle filter has no open hook: it gets openNext() with the defaults.
    const middle = defineFilter({ apiVersion: API_VERSION, name: 'middle' });
    const outer = defineFilter({
      apiVersion: API_VERSION,
      name: 'outer',
      ready: async (backend) => {
        const next = await backend.open({ shared: true, exportName: 'other', readonly: true });
        await next.close();
      },
    });
    const server = await createServer({ plugin, filters: [outer, middle] });
    await server.close();
    expect(opened).toEqual(['other ro']);
  });
});
