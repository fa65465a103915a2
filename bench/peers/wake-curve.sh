#!/usr/bin/env bash
# The curve of issue 28 (bench/RESULTS.md "Wake less"): this relay at --max-delay 0, 0.5, 1, 2 (the
# default) and 5 ms beside HAProxy log-forward, rsyslog imudp->omfwd and the C floor relay, in one
# sweep: LF framing, 100-byte datagrams, 5k, 20k and 100k/s and the senders' maximum; 1 destination
# with every budget, 4 destinations with 0 and the default. Then the wakes per second of each of the
# relay's threads at rest (no traffic, 10 s).
#   bench/peers/install-peers.sh; cc -O2 -o /tmp/floor-relay bench/floor-relay.c
#   REPS=3 bench/peers/wake-curve.sh    # appends to bench/runs-wake-curve-{1,4}dest.jsonl; then:
#   ./bin/relay bench summarize bench/runs-wake-curve-1dest.jsonl bench/runs-wake-curve-4dest.jsonl
set -eu
cd "$(dirname "$0")/../.."
reps=${REPS:-3}
floor=${FLOOR:-/tmp/floor-relay}
[ -x "$floor" ] || { echo "wake-curve.sh: no $floor (cc -O2 -o $floor bench/floor-relay.c)" >&2; exit 2; }
relay() { echo "relay-$1=exec ./bin/relay udp@{udp} {tcp} --framing lf -q --stats-interval 0 --max-delay $1"; }
peers=(
  --relay-cmd 'haproxy=exec bench/peers/haproxy-log-forward.sh {udp} {tcp}'
  --relay-cmd 'rsyslog=exec bench/peers/rsyslog-omfwd.sh {udp} {tcp}'
  --relay-cmd "floor=exec $floor --lf udp@{udp} {tcp}"
)
common=(--framing lf --size 100 --senders 2 --settle 2s --json)

for rep in $(seq "$reps"); do
  for dests in 1 4; do
    if [ "$dests" = 1 ]; then budgets=(0ms 0.5ms 1ms 2ms 5ms); else budgets=(0ms 2ms); fi
    relays=()
    for b in "${budgets[@]}"; do relays+=(--relay-cmd "$(relay "$b")"); done
    out=bench/runs-wake-curve-${dests}dest.jsonl
    ./bin/relay bench "${common[@]}" --dests "$dests" --duration 4s --sweep 5000,20000,100000 "${relays[@]}" "${peers[@]}" >>"$out"
    # The senders' maximum: unpaced (1,000,000/s is more than two senders reach here), 1.2 million datagrams.
    ./bin/relay bench "${common[@]}" --dests "$dests" --rate 1000000 --count 1200000 "${relays[@]}" "${peers[@]}" >>"$out"
  done
done

# At rest: voluntary context switches (each one a wake) per thread over 10 s, no traffic; the
# destination is a connected sink, so no reconnect timer runs.
sink_port=${SINK_PORT:-39917}
./bin/relay sink "tcp@127.0.0.1:$sink_port" >/dev/null &
sink=$!
trap 'kill $sink 2>/dev/null' EXIT
sleep 1
for b in 0ms 2ms; do
  ./bin/relay udp@127.0.0.1:0 "tcp@127.0.0.1:$sink_port" -q --stats-interval 0 --max-delay "$b" --metrics "127.0.0.1:$((sink_port + 1))" &
  pid=$!
  sleep 3
  node bench/peers/thread-wakes.mjs "$pid" "127.0.0.1:$((sink_port + 1))" 10 "max-delay $b" | tee -a bench/runs-wake-rest.jsonl
  kill "$pid"
  wait "$pid" || true
done
