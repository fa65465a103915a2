#!/usr/bin/env bash
# A peer for `relay bench`: HAProxy's log-forward (Debian's haproxy 2.6) as a UDP-to-TCP fan-out relay.
#   bench/peers/haproxy-log-forward.sh UDP_ADDR DEST...    UDP_ADDR HOST:PORT, each DEST tcp@HOST:PORT
#   relay bench --framing lf --relay-cmd 'haproxy=exec bench/peers/haproxy-log-forward.sh {udp} {tcp}'
# Each datagram goes to every destination as its payload followed by LF (ring "format raw", the server's
# default log-proto legacy), so give the bench --framing lf. HAProxy strips a leading syslog priority
# ("<13>"): the bench's payloads have none.
# Fairness: one ring (32 MiB) per destination (a shared ring moves at the speed of its slowest server),
# one thread (two reordered datagrams), tune.bufsize and the log lines' len above 64 KiB (the defaults
# truncate at 16 KiB and 1 KiB). Uneven, and no setting evens it: HAProxy 2.6 cannot size its UDP socket
# (dgram-bind takes no buffer option, tune.rcvbuf.client applies to accepted TCP only), so it keeps
# net.core.rmem_default (212992 bytes, 256 datagrams of 100 bytes) where this relay and rsyslog-omfwd.sh ask
# 32 MiB (capped by net.core.rmem_max): a burst past it is kernel drops, which the bench reports.
# The config is written to a temp dir and read by haproxy through a file descriptor: the dir is gone before
# haproxy starts, so nothing is left behind, and haproxy is exec'd (no shell around it, SIGTERM reaches it).
set -eu
die() { echo "haproxy-log-forward.sh: $*" >&2; exit 2; }
# $HAPROXY when set, else haproxy on PATH or in /usr/sbin.
haproxy=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
[ -x "$haproxy" ] || die "haproxy is not installed (bench/peers/install-peers.sh, or apt-get install haproxy)"
[ $# -ge 2 ] || die "usage: haproxy-log-forward.sh UDP_HOST:PORT tcp@HOST:PORT..."

# HOST:PORT (IPv4, a name, or [IPv6]) -> $host and $port; an IPv6 host keeps its brackets.
split() {
  case $1 in *:*) ;; *) die "not HOST:PORT: $1" ;; esac
  host=${1%:*} port=${1##*:}
  case $port in '' | *[!0-9]*) die "not HOST:PORT: $1" ;; esac
  [ -n "$host" ] || die "not HOST:PORT: $1"
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/haproxy-log-forward.XXXXXX")
trap 'rm -rf "$dir"' EXIT
config=$dir/haproxy.cfg
split "$1"
udp_host=$host udp_port=$port
shift
{
  echo "global"
  echo "    nbthread 1"
  echo "    tune.bufsize 131072"
  echo "    maxconn 100"
  i=0
  rings=()
  for dest in "$@"; do
    case $dest in tcp@*) ;; *) die "not tcp@HOST:PORT: $dest" ;; esac
    split "${dest#tcp@}"
    i=$((i + 1))
    rings+=("d$i")
    echo ""
    echo "ring d$i"
    echo "    format raw"
    echo "    maxlen 65535"
    echo "    size 33554432"
    echo "    timeout connect 5s"
    echo "    timeout server 30s"
    echo "    server d$i $host:$port"
  done
  echo ""
  echo "log-forward relay"
  echo "    dgram-bind $udp_host:$udp_port"
  for ring in "${rings[@]}"; do echo "    log ring@$ring len 65535 format raw local0"; done
} >"$config"
# The config through fd 3 (haproxy reads it at start); the dir removed now, since exec ends this shell's trap.
exec 3<"$config"
rm -rf "$dir"
trap - EXIT
exec "$haproxy" -f /dev/fd/3 -db
