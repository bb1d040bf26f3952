#!/usr/bin/env bash
# A throw-away single-node Ceph cluster with radosgw for the tests: one
# monitor, one memstore OSD (pools of size 1), one radosgw; no manager. Every
# socket is on 127.0.0.1 with ports chosen per run, every file is under DIR,
# and the daemons are stopped by the process ids recorded in DIR.
#
#   ceph-cluster.sh start DIR      start a cluster; prints its S3 settings as JSON
#   ceph-cluster.sh stop DIR       stop every daemon of DIR (the folder is kept)
#   ceph-cluster.sh stop-rgw DIR   stop radosgw only (the data stays in the OSD)
#   ceph-cluster.sh start-rgw DIR  start radosgw again on the same port
#
# MEMSTORE_BYTES (default 2 GiB) caps the memory the OSD may use for data.
set -euo pipefail

die() { echo "ceph-cluster: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 start|stop|stop-rgw|start-rgw DIR"
cmd=$1
D=$(cd "$2" && pwd) || die "no folder $2"
export CEPH_CONF="$D/ceph.conf"

for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool; do
  command -v "$tool" >/dev/null ||
    die "$tool is missing: install the Debian packages ceph-mon ceph-osd radosgw ceph-common"
done

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Waits until "$@" succeeds, for at most $deadline tenths of a second.
wait_for() {
  local what=$1 tenths=$2; shift 2
  for ((i = 0; i < tenths; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$what did not come up within $((tenths / 10)) s; see the logs in $D/log"
}

rgw_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$D/rgw.port")") 2>/dev/null; }

start_rgw() {
  radosgw -f -n client.rgw.0 >>"$D/log/radosgw.out" 2>&1 &
  echo $! >"$D/pid.rgw"
  wait_for radosgw 300 rgw_listening
}

stop_pid() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill "$pid" 2>/dev/null; then
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

case $cmd in
start)
  mkdir -p "$D"/{mon,osd,run,log,rgw,crash}
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mon_port=$(free_port)
  rgw_port=$(free_port)
  echo "$rgw_port" >"$D/rgw.port"
  osd_ports=$((20000 + RANDOM % 400 * 100))
  cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$mon_port
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
ms_bind_msgr1 = false
ms_bind_port_min = $osd_ports
ms_bind_port_max = $((osd_ports + 99))
ms_mon_client_mode = crc
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
osd_crush_chooseleaf_type = 0
paxos_propose_interval = 0.01
mon_data_avail_warn = 1
mon_warn_on_insecure_global_id_reclaim_allowed = false
run_dir = $D/run
admin_socket = $D/run/\$cluster-\$name.asok
pid_file = $D/run/\$cluster-\$name.pid
log_file = $D/log/\$cluster-\$name.log
mon_cluster_log_file = $D/log/\$cluster.\$channel.log
crash_dir = $D/crash
mon_data = $D/mon/\$cluster-\$id
osd_data = $D/osd/\$cluster-\$id
keyring = $D/keyring
osd_objectstore = memstore
memstore_device_bytes = ${MEMSTORE_BYTES:-2147483648}
osd_max_object_name_len = 256
osd_max_object_namespace_len = 64
[client.rgw.0]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_data = $D/rgw
rgw_dns_name = localhost
CONF
  touch "$D/keyring"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$D/monmap" >/dev/null
  ceph-authtool --create-keyring "$D/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$D/mon.keyring"
  ceph-mon -f -i a >>"$D/log/mon.out" 2>&1 &
  echo $! >"$D/pid.mon"
  ceph -s --connect-timeout 30 >/dev/null || die "the monitor did not answer; see $D/log"
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph osd new "$uuid")
  mkdir -p "$D/osd/ceph-$id"
  ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" >>"$D/log/osd.out" 2>&1
  ceph-osd -f -i "$id" >>"$D/log/osd.out" 2>&1 &
  echo $! >"$D/pid.osd"
  osd_up() { ceph osd stat | grep -q "1 up"; }
  wait_for "the OSD" 300 osd_up
  start_rgw
  radosgw-admin user create --uid=owner --display-name=owner --access-key=OWNERKEY --secret=OWNERSECRET >/dev/null
  radosgw-admin user create --uid=other --display-name=other --access-key=OTHERKEY --secret=OTHERSECRET >/dev/null
  printf '{"endpoint":"http://127.0.0.1:%s","accessKey":"OWNERKEY","secretKey":"OWNERSECRET","otherAccessKey":"OTHERKEY","otherSecretKey":"OTHERSECRET"}\n' "$rgw_port"
  ;;
stop)
  for d in rgw osd mon; do stop_pid "$D/pid.$d"; done
  ;;
stop-rgw)
  stop_pid "$D/pid.rgw"
  ;;
start-rgw)
  start_rgw
  ;;
*)
  die "unknown command $cmd"
  ;;
esac
