/**
 * The concurrency a layer can take, weakest promise first. The server enforces
 * the strictest one declared anywhere in the stack.
 *
 * - `serialize-connections`: one connection at a time in the whole server.
 * - `serialize-all-requests`: one request at a time across all connections.
 * - `serialize-requests`: one request at a time per connection.
 * - `parallel`: any number of requests at once.
 */
export type Concurrency = 'serialize-connections' | 'serialize-all-requests' | 'serialize-requests' | 'parallel';

const ORDER: readonly Concurrency[] = ['serialize-connections', 'serialize-all-requests', 'serialize-requests', 'parallel'];

/** The stricter of two concurrency levels. */
export function stricterConcurrency(a: Concurrency, b: Concurrency): Concurrency {
  return ORDER.indexOf(a) <= ORDER.indexOf(b) ? a : b;
}

/** Whether a string names a concurrency level. */
export function isConcurrency(value: string): value is Concurrency {
  return (ORDER as readonly string[]).includes(value);
}
