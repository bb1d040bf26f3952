import { API_VERSION, definePlugin, Flag, type PluginCapabilities, type PluginDefinition, type PluginHandle } from '@nbdkit-ts/core';

/** What the memory plugin of the tests counts. */
export interface Calls {
  events: string[];
  pread: number;
  pwrite: number;
  flush: number;
  zero: number;
  active: number;
  maxActive: number;
}

export interface MemoryOptions {
  size?: number;
  /** Leave out the zero call, or make it fail with ENOTSUP. */
  zero?: 'none' | 'native' | 'enotsup';
  fua?: 'emulate' | 'native';
  concurrency?: 'parallel' | 'serialize-requests' | 'serialize-all-requests' | 'serialize-connections';
  /** Milliseconds each read waits, to keep requests in flight. */
  readDelay?: number;
  /** Reads wait for this before they answer. */
  readGate?: Promise<void>;
  multiConn?: boolean;
}

/** An in-memory plugin for tests of the server's own behaviour, counting what reaches it. */
export function memoryPlugin(options: MemoryOptions = {}): { def: PluginDefinition; calls: Calls; data: Buffer } {
  const data = Buffer.alloc(options.size ?? 1024 * 1024);
  const calls: Calls = { events: [], pread: 0, pwrite: 0, flush: 0, zero: 0, active: 0, maxActive: 0 };
  const def = definePlugin(() => ({
    apiVersion: API_VERSION,
    name: 'memory',
    concurrency: options.concurrency ?? 'parallel',
    params: [{ name: 'tag', description: 'recorded in the events' }],
    config: (k: string, v: string) => void calls.events.push(`config ${k}=${v}`),
    configComplete: () => void calls.events.push('configComplete'),
    ready: () => void calls.events.push('ready'),
    preconnect: () => void calls.events.push('preconnect'),
    cleanup: () => void calls.events.push('cleanup'),
    open({ exportName }) {
      calls.events.push(`open ${exportName}`);
      const h: PluginHandle = {
        prepare: () => void calls.events.push('prepare'),
        finalize: () => void calls.events.push('finalize'),
        close: () => void calls.events.push('close'),
        capabilities: (): PluginCapabilities => ({ size: BigInt(data.length), canFua: options.fua ?? 'emulate', canMultiConn: options.multiConn ?? false }),
        async pread(buf, offset) {
          calls.pread++;
          calls.active++;
          calls.maxActive = Math.max(calls.maxActive, calls.active);
          if (options.readDelay !== undefined) await new Promise((r) => setTimeout(r, options.readDelay));
          await options.readGate;
          data.copy(buf, 0, Number(offset), Number(offset) + buf.length);
          calls.active--;
        },
        pwrite(buf, offset, flags) {
          calls.pwrite++;
          if (flags & Flag.FUA) calls.events.push('pwrite+FUA');
          Buffer.from(buf.buffer, buf.byteOffset, buf.length).copy(data, Number(offset));
        },
        flush() {
          calls.flush++;
        },
      };
      if (options.zero === 'native' || options.zero === 'enotsup') {
        h.zero = (count, offset) => {
          calls.zero++;
          if (options.zero === 'enotsup') throw Object.assign(new Error('no'), { code: 'ENOTSUP' });
          data.fill(0, Number(offset), Number(offset) + count);
        };
      }
      return h;
    },
  }));
  return { def, calls, data };
}
