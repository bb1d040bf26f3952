import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { tempDir } from '@nbdkit-ts/testing';
import type { NbdServer } from '../src/index.js';

/**
 * For a describe block of tests of embedded servers: `serve(server)` listens
 * on a private unix socket and resolves with its URI; `later(f)` runs `f`
 * after the test. After each test, servers are closed and their sockets'
 * folders removed, last first.
 */
export function useEmbeddedServers(): { serve: (server: NbdServer) => Promise<string>; later: (f: () => Promise<void> | void) => void } {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    serve: async (server) => {
      const dir = tempDir();
      const address = await server.listen({ socket: join(dir, 's') });
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      cleanups.push(() => server.close());
      return address.uri;
    },
    later: (f) => void cleanups.push(f),
  };
}
