#!/usr/bin/env bash
# A peer for `relay bench`: rsyslog (Debian's rsyslogd 8.2302) as a UDP-to-TCP fan-out relay, imudp in, omfwd out.
#   bench/peers/rsyslog-omfwd.sh UDP_ADDR DEST...    UDP_ADDR HOST:PORT, each DEST tcp@HOST:PORT
#   relay bench --framing lf --relay-cmd 'rsyslog=exec bench/peers/rsyslog-omfwd.sh {udp} {tcp}'
# Each datagram goes to every destination as its payload followed by LF (template "%rawmsg%\n", with the
# parser told to neither escape control characters nor drop a trailing LF), so give the bench --framing lf.
# Fairness: one imudp thread (two reordered datagrams); an in-memory queue per action (a dead destination
# cannot stall the others), retried forever; messages up to 64 KiB (the default cuts at 8 KiB); the UDP
# receive buffer this relay asks for (32 MiB, capped by net.core.rmem_max, since rsyslog as root would
# force more).
# A private rsyslogd: its own config, work directory and pid file in a temp dir, only imudp loaded (no
# imuxsock, no imklog: the system's log socket and /var/log are untouched), in the foreground (-n).
# rsyslogd is exec'd (no shell around it, SIGTERM reaches it); a detached watcher removes the temp dir
# once it has exited (exec ends this shell, and its traps with it).
set -eu
die() { echo "rsyslog-omfwd.sh: $*" >&2; exit 2; }
# $RSYSLOGD when set, else rsyslogd on PATH or in /usr/sbin.
rsyslogd=${RSYSLOGD:-$(command -v rsyslogd || echo /usr/sbin/rsyslogd)}
[ -x "$rsyslogd" ] || die "rsyslogd is not installed (bench/peers/install-peers.sh, or apt-get install rsyslog)"
[ $# -ge 2 ] || die "usage: rsyslog-omfwd.sh UDP_HOST:PORT tcp@HOST:PORT..."

# HOST:PORT (IPv4, a name, or [IPv6]) -> $host (without brackets) and $port.
split() {
  case $1 in *:*) ;; *) die "not HOST:PORT: $1" ;; esac
  host=${1%:*} port=${1##*:}
  host=${host#[} host=${host%]}
  case $port in '' | *[!0-9]*) die "not HOST:PORT: $1" ;; esac
  [ -n "$host" ] || die "not HOST:PORT: $1"
}

rmem_max=$(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo 33554432)
rcvbuf=$((rmem_max < 33554432 ? rmem_max : 33554432))

dir=$(mktemp -d "${TMPDIR:-/tmp}/rsyslog-omfwd.XXXXXX")
trap 'rm -rf "$dir"' EXIT
config=$dir/rsyslog.conf
split "$1"
shift
# rsyslog's omfwd connects when it forwards its first message, while the bench waits for a connection to
# each sink before it sends: touch each destination once (connect, send nothing, close) so the bench starts.
# A destination that refuses is left to rsyslog (it retries forever).
udp_host=$host udp_port=$port
for dest in "$@"; do
  case $dest in tcp@*) ;; *) die "not tcp@HOST:PORT: $dest" ;; esac
  split "${dest#tcp@}"
  timeout 2 bash -c 'exec 4<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null || true
done
{
  echo "# written by bench/peers/rsyslog-omfwd.sh"
  echo "global(workDirectory=\"$dir\" maxMessageSize=\"65536\""
  echo "       parser.escapeControlCharactersOnReceive=\"off\" parser.dropTrailingLFOnReception=\"off\")"
  echo "main_queue(queue.type=\"FixedArray\" queue.size=\"100000\" queue.workerThreads=\"1\")"
  echo "module(load=\"imudp\" threads=\"1\")"
  echo "template(name=\"payload\" type=\"string\" string=\"%rawmsg%\\n\")"
  echo "input(type=\"imudp\" address=\"$udp_host\" port=\"$udp_port\" rcvbufSize=\"$rcvbuf\" ruleset=\"fanout\")"
  echo "ruleset(name=\"fanout\") {"
  for dest in "$@"; do
    split "${dest#tcp@}"
    echo "  action(type=\"omfwd\" target=\"$host\" port=\"$port\" protocol=\"tcp\" template=\"payload\""
    echo "         queue.type=\"LinkedList\" queue.size=\"1000000\" action.resumeRetryCount=\"-1\")"
  done
  echo "}"
} >"$config"
# The temp dir outlives this shell: a watcher in its own session (the bench's SIGTERM to this process group
# does not reach it), not a child of rsyslogd (so not measured with it), removes it once rsyslogd has exited.
# (A zombie counts as exited: its parent may be slow to reap it.)
(setsid sh -c 'while [ -e "/proc/$1" ] && ! grep -qs "^State:[[:space:]]*Z" "/proc/$1/status"; do sleep 0.5; done; rm -rf "$2"' \
  rsyslog-omfwd-cleanup "$$" "$dir" </dev/null >/dev/null 2>&1 &)
trap - EXIT
exec "$rsyslogd" -n -f "$config" -i "$dir/rsyslogd.pid"
