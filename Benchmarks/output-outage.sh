#!/usr/bin/env bash
# A live run whose SRT output goes away for a while: does labelcast stay at real time?
#
#   Benchmarks/output-outage.sh [--outage S] [--out Benchmarks/results/output-outage.md] NAME=BINARY...
#
# For each binary: ffmpeg publishes a 640x360 25 fps H.264/AAC MPEG-TS over UDP at its native
# rate (-re); labelcast labels it (--synthetic all) into an SRT caller output; an ffmpeg SRT
# listener records 8 s of media and hangs up; S seconds later (default 10) a second listener
# records until labelcast is stopped (SIGINT, 10 s after the second listener started).
# From the recordings (ffprobe) and the wall clock:
#   lag before / after = wall seconds since the publisher started − last video pts received
#                        (at the first listener's end / at the stop): a pipeline held up by
#                        the outage comes back behind the publisher;
#   gap                = first pts of the second recording − last pts of the first (the
#                        media time skipped; about the outage when the input kept being read);
#   counts             = labelcast's --metrics-json video lane (in, written, dropped by reason)
#                        and the video packets the two listeners received.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="$(cd "$here/.." && pwd)"
work="${BENCH_WORK:-$package/.build/bench/output-outage}"
out_md="$package/Benchmarks/results/output-outage.md"
outage=10
runs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --outage) outage=$2; shift 2;;
        --out) out_md=$2; shift 2;;
        *=*) runs+=("$1"); shift;;
        *) echo "output-outage.sh: unknown option $1 (give NAME=BINARY pairs)" >&2; exit 2;;
    esac
done
[ ${#runs[@]} -gt 0 ] || runs=("this=$package/.build/debug/labelcast")
for tool in ffmpeg ffprobe python3; do command -v "$tool" >/dev/null || { echo "output-outage.sh: $tool is missing" >&2; exit 2; }; done
mkdir -p "$work" "$(dirname "$out_md")"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

rows=()
for run in "${runs[@]}"; do
    name=${run%%=*}; lc=${run#*=}
    [ -x "$lc" ] || { echo "output-outage.sh: $lc is not executable" >&2; exit 2; }
    dir="$work/$name"; rm -rf "$dir"; mkdir -p "$dir"
    udp=$(port); srt=$(port)
    listen="srt://127.0.0.1:$srt?mode=listener"
    ffmpeg -v error -y -i "$listen" -t 8 -c copy -copyts "$dir/rec1.ts" 2>"$dir/rec1.log" & rec1=$!
    sleep 0.5
    ffmpeg -v error -re -f lavfi -i "testsrc2=size=640x360:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
        -t 90 -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 128k \
        -f mpegts "udp://127.0.0.1:$udp?pkt_size=1316" 2>"$dir/pub.log" & pub=$!
    published=$(now)
    "$lc" run -i "udp://127.0.0.1:$udp" -o "srt://127.0.0.1:$srt?mode=caller" -f mpegts --synthetic all \
        --metrics-json "$dir/metrics.json" --read-timeout 3 2>"$dir/labelcast.log" & lcpid=$!
    wait $rec1 || true
    first_end=$(now)
    sleep "$outage"
    ffmpeg -v error -y -i "$listen" -c copy -copyts "$dir/rec2.ts" 2>"$dir/rec2.log" & rec2=$!
    sleep 10
    stopped=$(now)
    kill -INT $lcpid; wait $lcpid || true
    for _ in $(seq 50); do kill -0 $rec2 2>/dev/null || break; sleep 0.2; done
    kill $rec2 2>/dev/null || true; kill $pub 2>/dev/null || true; wait 2>/dev/null || true
    pts() { ffprobe -v error -select_streams v:0 -show_entries packet=pts_time -of csv=p=0 "$1" | tr -d ','; }
    pts "$dir/rec1.ts" >"$dir/p1.txt"; pts "$dir/rec2.ts" >"$dir/p2.txt"
    row=$(python3 - "$dir" "$published" "$first_end" "$stopped" "$name" <<'EOF'
import json, sys
d, published, first_end, stopped, name = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
p1 = [float(x) for x in open(d + "/p1.txt") if x.strip()]
p2 = [float(x) for x in open(d + "/p2.txt") if x.strip()]
rep = json.load(open(d + "/metrics.json"))
v = next(l for l in rep["lanes"] if l["lane"].startswith("video"))["counts"]
drops = ", ".join(f"{k} {n}" for k, n in sorted(v.get("dropped", {}).items())) or "none"
if not p1 or not p2:
    print(f"| {name} | {len(p1)} + {len(p2)} packets received | | | | {v['frames_in']} | {v['frames_out']} | {drops} | |")
else:
    before = first_end - published - p1[-1]
    after = stopped - published - p2[-1]
    print(f"| {name} | {before:.2f} s | {after:.2f} s | {p2[0] - p1[-1]:.2f} s | {len(p1) + len(p2)} | {v['frames_in']} | {v['frames_out']} | {drops} | {rep['speed']:.2f}x |")
EOF
)
    rows+=("$row")
    echo "$row"
done

{
    echo "# Output outage: real time while an SRT output is away"
    echo
    echo "Written by \`Benchmarks/output-outage.sh --outage $outage ${runs[*]}\` on $(date -u '+%Y-%m-%d %H:%M UTC'),"
    echo "$(uname -srm), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end, commit $(git -C "$package" rev-parse --short HEAD)$(git -C "$package" diff --quiet HEAD -- Sources || echo ' (+ uncommitted Sources changes)')."
    echo "Listener away ${outage} s (plus what libsrt takes to notice the hang-up); debug builds."
    echo
    echo "| binary | lag before | lag after | gap in pts | video packets received | frames in | written | dropped | speed |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for r in "${rows[@]}"; do echo "$r"; done
    echo
    echo "lag = wall seconds since the publisher started − last video pts received (includes start-up); a run at real time keeps it; speed = labelcast's own media/wall."
} >"$out_md"
echo "wrote $out_md"
