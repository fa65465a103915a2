#!/usr/bin/env bash
# The comparison in bench/RESULTS.md ("Beside HAProxy and rsyslog"): this relay, HAProxy log-forward,
# rsyslog imudp->omfwd and the C floor relay, LF framing, 100-byte datagrams, at 20k, 100k and 200k/s
# and the senders' maximum, 1 and 4 destinations; then one isolation run per relay, a stalled
# destination (accepts, never reads) beside a live one, at 100k/s.
#   bench/peers/install-peers.sh        # haproxy and rsyslog from Debian, once
#   cc -O2 -o /tmp/floor-relay bench/floor-relay.c
#   REPS=3 bench/peers/compare.sh       # appends to bench/runs-peers-*.jsonl; then:
#   ./bin/relay bench summarize bench/runs-peers-100B-1dest.jsonl bench/runs-peers-100B-4dest.jsonl bench/runs-peers-isolation.jsonl
# BEFORE=/path/to/an/older/checkout adds that build as relay-before (its own bin/relay, built).
# LOCKLESS=/path/to/relay-lockless/bin/relay adds len32le runs (the only framing relay-lockless
# writes) of this relay, relay-lockless and the floor, to bench/runs-peers-len32le-*.jsonl.
# Run it on a quiet machine: every number is CPU time and latency on shared cores.
set -eu
cd "$(dirname "$0")/../.."
reps=${REPS:-3}
floor=${FLOOR:-/tmp/floor-relay}
[ -x "$floor" ] || { echo "compare.sh: no $floor (cc -O2 -o $floor bench/floor-relay.c)" >&2; exit 2; }
relay="exec ./bin/relay udp@{udp} {tcp} --framing lf -q --stats-interval 0"
peers=(--relay-cmd "relay=$relay")
[ -z "${BEFORE:-}" ] || peers+=(--relay-cmd "relay-before=exec $BEFORE/bin/relay udp@{udp} {tcp} --framing lf -q --stats-interval 0")
peers+=(
  --relay-cmd 'haproxy=exec bench/peers/haproxy-log-forward.sh {udp} {tcp}'
  --relay-cmd 'rsyslog=exec bench/peers/rsyslog-omfwd.sh {udp} {tcp}'
  --relay-cmd "floor=exec $floor --lf udp@{udp} {tcp}"
)
common=(--framing lf --size 100 --senders 2 --settle 2s --json)

for rep in $(seq "$reps"); do
  for dests in 1 4; do
    out=bench/runs-peers-100B-${dests}dest.jsonl
    ./bin/relay bench "${common[@]}" --dests "$dests" --duration 4s --sweep 20000,100000,200000 "${peers[@]}" >>"$out"
    # The senders' maximum: unpaced (1,000,000/s is more than two senders reach here), 1.2 million datagrams.
    ./bin/relay bench "${common[@]}" --dests "$dests" --rate 1000000 --count 1200000 "${peers[@]}" >>"$out"
  done
done

if [ -n "${LOCKLESS:-}" ]; then
  len32le=(
    --relay-cmd "relay=exec ./bin/relay udp@{udp} {tcp} -q --stats-interval 0"
    --relay-cmd "relay-lockless=exec $LOCKLESS udp@{udp} {tcp}"
    --relay-cmd "floor=exec $floor udp@{udp} {tcp}"
  )
  for rep in $(seq "$reps"); do
    for dests in 1 4; do
      out=bench/runs-peers-len32le-${dests}dest.jsonl
      ./bin/relay bench --size 100 --senders 2 --settle 2s --json --dests "$dests" --duration 4s --sweep 20000,100000,200000 "${len32le[@]}" >>"$out"
      ./bin/relay bench --size 100 --senders 2 --settle 2s --json --dests "$dests" --rate 1000000 --count 1200000 "${len32le[@]}" >>"$out"
    done
  done
fi

# Isolation: a destination that accepts and never reads, beside the bench's live sink. Only the
# live sink is measured: its loss is what the stalled one cost it.
stalled_port_file=$(mktemp)
node -e 'const s = require("node:net").createServer((c) => c.pause()).listen(0, "127.0.0.1", () => require("node:fs").writeFileSync(process.argv[1], String(s.address().port)))' "$stalled_port_file" &
stalled=$!
trap 'kill $stalled 2>/dev/null; rm -f "$stalled_port_file"' EXIT
for _ in $(seq 50); do [ -s "$stalled_port_file" ] && break; sleep 0.1; done
dead=tcp@127.0.0.1:$(cat "$stalled_port_file")
for rep in $(seq "$reps"); do
  ./bin/relay bench "${common[@]}" --dests 1 --duration 4s --rate 100000 \
    --relay-cmd "relay-stalled=exec ./bin/relay udp@{udp} {tcp} $dead --framing lf -q --stats-interval 0" \
    --relay-cmd "haproxy-stalled=exec bench/peers/haproxy-log-forward.sh {udp} {tcp} $dead" \
    --relay-cmd "rsyslog-stalled=exec bench/peers/rsyslog-omfwd.sh {udp} {tcp} $dead" >>bench/runs-peers-isolation.jsonl
done
