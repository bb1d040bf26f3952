import { join } from 'node:path';
import { runOk } from '@nbdkit-ts/testing';
import { testPlugin } from '@nbdkit-ts/testing/conformance';

// An image read and written with dd, each method a snippet on the command line; can_write, can_zero and
// can_flush are implied by pwrite, zero and flush.
testPlugin({
  title: 'eval (dd snippets)',
  plugin: new URL('../dist/index.js', import.meta.url),
  params: async ({ dir }) => {
    const disk = join(dir, 'disk.img');
    await runOk('truncate', ['-s', '1M', disk]);
    return [
      'config=ln -sf "$(realpath "$3")" $tmpdir/disk',
      'thread_model=echo parallel',
      'get_size=stat -L -c %s $tmpdir/disk',
      'pread=dd if=$tmpdir/disk skip=$4 count=$3 iflag=skip_bytes,count_bytes status=none',
      'pwrite=dd of=$tmpdir/disk seek=$4 conv=notrunc oflag=seek_bytes status=none',
      'zero=dd if=/dev/zero of=$tmpdir/disk seek=$4 count=$3 conv=notrunc iflag=count_bytes oflag=seek_bytes status=none',
      'flush=sync $tmpdir/disk',
      'can_multi_conn=exit 0',
      `file=${disk}`,
    ];
  },
});
