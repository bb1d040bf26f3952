#!/bin/sh
# A disk image read and written with dd, as a sh plugin: file=PATH names it.
disk="$tmpdir/disk"
case "$1" in
  config)
    [ "$2" = file ] || { echo "EINVAL unknown parameter $2" >&2; exit 1; }
    ln -sf "$(realpath "$3")" "$disk" ;;
  config_complete) [ -e "$disk" ] || { echo "EINVAL file= is required" >&2; exit 1; } ;;
  thread_model) echo parallel ;;
  get_size) stat -L -c %s "$disk" ;;
  can_write|can_flush|can_trim|can_zero|can_multi_conn) exit 0 ;;
  can_fua) echo native ;;
  pread) dd if="$disk" skip="$4" count="$3" iflag=skip_bytes,count_bytes status=none ;;
  pwrite) dd of="$disk" seek="$4" conv=notrunc,fsync oflag=seek_bytes status=none ;;
  zero|trim) dd if=/dev/zero of="$disk" seek="$4" count="$3" conv=notrunc iflag=count_bytes oflag=seek_bytes status=none ;;
  flush) sync "$disk" ;;
  *) exit 2 ;;
esac
