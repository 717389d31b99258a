#!/bin/sh
# Control-API flood against a streaming run: stream speed and end-to-end latency p99 with and
# without a wrk flood (GET /synthetic, or PUT toggles), from the run's own --metrics-json.
#   Benchmarks/control-flood/run.sh [LABELCAST_BINARY] [SECONDS] [SIZE]
# Needs wrk (apt-get install wrk). Loopback only; bounded: 3 runs of SECONDS each (default 30).
# WRK_NICE=19 runs the flood client itself at low priority, so on a small machine what is
# measured is the server's cost, not the client's (an attacker's client is elsewhere).
set -eu
BIN=${1:-.build/debug/labelcast}
SECONDS_RUN=${2:-30}
SIZE=${3:-640x360}
DIR=$(mktemp -d /tmp/labelcast-flood.XXXXXX)
HERE=$(cd "$(dirname "$0")" && pwd)
TOKEN=flood-bench-token-01
ffmpeg -v error -y -f lavfi -i "testsrc2=size=$SIZE:rate=25" -f lavfi -i "sine=f=440:r=48000" -t "$SECONDS_RUN" \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 50 -c:a aac "$DIR/in.mp4"
one() { # name, flood command or "none"
    name=$1; shift
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    start=$(date +%s.%N)
    "$BIN" run -i "$DIR/in.mp4" -o "$DIR/$name.ts" --realtime --synthetic all --listen "127.0.0.1:$port" \
        --control-token "$TOKEN" --audit-log "$DIR/$name.audit.jsonl" --metrics-json "$DIR/$name.metrics.json" -q &
    pid=$!
    sleep 3
    if [ "$1" != none ]; then
        nice -n "${WRK_NICE:-0}" wrk -t1 -c100 -d"$((SECONDS_RUN - 6))s" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
            "$@" "http://127.0.0.1:$port/synthetic" > "$DIR/$name.wrk.txt" 2>&1 || true
    else
        sleep "$((SECONDS_RUN - 6))"
    fi
    # labelcast's CPU seconds (user+system, all threads) from its start to the end of the flood.
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f\n", ($14 + $15) / hz }' "/proc/$pid/stat" > "$DIR/$name.cpu.txt"
    wait $pid || true
    end=$(date +%s.%N)
    python3 - "$DIR/$name.metrics.json" "$start" "$end" "$DIR/$name.audit.jsonl" "$DIR/$name.wrk.txt" "$name" "$(cat "$DIR/$name.cpu.txt")" <<'PY'
import json, sys, os
m = json.load(open(sys.argv[1]))
lat = m["latency"]
def p(lane, q): return lat[lane]["total"][q] / 1000
wrk = open(sys.argv[5]).read() if os.path.exists(sys.argv[5]) else ""
req = [l.strip() for l in wrk.splitlines() if "Requests/sec" in l]
codes = [l.strip() for l in wrk.splitlines() if "Non-2xx" in l]
print(f"{sys.argv[6]:>7}: speed {m['speed']:.3f}x ({m['media_seconds']:.1f} s media in {m['wall_seconds']:.1f} s); "
      f"video e2e p50 {p('video','p50'):.1f} p99 {p('video','p99'):.1f} max {p('video','max'):.1f} ms; "
      f"audio p99 {p('audio','p99'):.1f} ms; cpu {sys.argv[7]} s; audit {os.path.getsize(sys.argv[4])} B; {req[0] if req else 'no flood'} {codes}")
PY
}
one quiet none
one get -s /dev/null
one toggle -s "$HERE/toggle.lua"
echo "files in $DIR"
