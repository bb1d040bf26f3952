import { lookup } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';

/**
 * Resolves names under `localhost` (`disks.localhost`) as `localhost`, as
 * RFC 6761 asks and as browsers and curl do, so that virtual-host
 * addressing works against a store on this machine. Other names go to the
 * system resolver.
 */
const lookupLocalhost: LookupFunction = (hostname, options, callback) => {
  const name = hostname.toLowerCase().endsWith('.localhost') ? 'localhost' : hostname;
  lookup(name, options, callback);
};

/**
 * Keep-alive agents for http and https holding at most `sockets`
 * connections each. An idle connection is closed after 15 s, before stores
 * close it themselves (radosgw after 65 s), so that a request is rarely
 * sent on a connection the store is closing.
 */
export function keepAliveAgents(sockets: number): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  const options = { keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, timeout: 15_000, lookup: lookupLocalhost };
  return { httpAgent: new HttpAgent(options), httpsAgent: new HttpsAgent(options) };
}
