#!/bin/sh
# Copies 64 MiB out of a disk whose reads take 20 ms each, one 1 MiB request at a time, through
# the delay filter alone and with the scan and cache filters above it, with nbdkit-ts and with
# nbdkit; prints the seconds nbdcopy took, once per run: the copy starting as soon as the
# server listens, and (nbdkit-ts with scan) starting 2 seconds later.
#   sh copy-64m.sh [RUNS] [NBDKIT_TS]     (NBDKIT_TS: the nbdkit-ts command, default the monorepo's)
set -eu
runs=${1:-3}
here=$(cd "$(dirname "$0")" && pwd)
nbdkit_ts=${2:-"node $here/../../server/dist/cli/main.js"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 64M /dev/urandom > "$work/disk.img"
export PATH=/usr/bin:$PATH TMPDIR="$work"
copy='sleep ${WAIT:-0}; s=$(date +%s.%N); nbdcopy --connections=1 --requests=1 --request-size=1048576 "$uri" /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc'
lscpu | grep 'Model name'
for server in "$nbdkit_ts" nbdkit; do
  for stack in '--filter=delay' '--filter=scan --filter=cache --filter=delay'; do
    for i in $(seq "$runs"); do
      # shellcheck disable=SC2086
      t=$($server -U - $stack file "$work/disk.img" delay-read=20ms --run "$copy")
      echo "$(basename "${server##* }") $stack: $t s"
    done
  done
done
for i in $(seq "$runs"); do
  # shellcheck disable=SC2086
  t=$(WAIT=2 $nbdkit_ts -U - --filter=scan --filter=cache --filter=delay file "$work/disk.img" delay-read=20ms --run "$copy")
  echo "$(basename "${nbdkit_ts##* }") --filter=scan --filter=cache --filter=delay, copy 2 s after start: $t s"
done
