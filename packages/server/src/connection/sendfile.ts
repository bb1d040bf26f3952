/**
 * sendfile(2): copies `count` bytes of file `from` at `position` to the
 * socket `to` inside the kernel, and returns how many went (0 at the end of
 * the file) or the errno name of a failure (EAGAIN: the socket is full).
 * The file's own position is left alone.
 */
export type Sendfile = (to: number, from: number, position: number, count: number) => number | string;

let loading: Promise<Sendfile | undefined> | undefined;

/**
 * sendfile through koffi, loaded once, by the first read that could use it;
 * undefined off Linux or where koffi cannot load (reads are then copied).
 */
export function loadSendfile(): Promise<Sendfile | undefined> {
  loading ??= bind().catch(() => undefined);
  return loading;
}

async function bind(): Promise<Sendfile | undefined> {
  if (process.platform !== 'linux') return undefined;
  const koffi = await import('koffi');
  const libc = koffi.load(null);
  // 32-bit ABIs have a 32-bit off_t behind the plain name.
  const lfs = koffi.sizeof('long') === 8 ? '' : '64';
  const sendfile = libc.func(`intptr_t sendfile${lfs}(int out_fd, int in_fd, int64_t *offset, size_t count)`);
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(koffi.os.errno)) if (!names.has(value) || name === 'EAGAIN') names.set(value, name);
  const offset = new BigInt64Array(1);
  return (to, from, position, count) => {
    offset[0] = BigInt(position);
    const n = Number(sendfile(to, from, offset, count));
    if (n >= 0) return n;
    const errno = koffi.errno();
    return names.get(errno) ?? `errno ${errno}`;
  };
}
