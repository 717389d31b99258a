#!/usr/bin/env bash
# False-positive run for the invisible video mark: streams unmarked, generated video of varied
# content through the shipped reader (`labelcast detect -`, rawvideo/nut on a pipe, so nothing is
# stored) and counts video detections: every one is false. Six kinds of content, an equal share
# of the time each: ffmpeg's testsrc2 (cartoon-like), smptehdbars (flat), cellauto and life
# (busy binary patterns), gradients (smooth), and photos from plasma-workspace-wallpapers
# panned and zoomed (camera-like) - all with temporal grain (noise=alls=6:allf=t), 640x360 30 fps
# (the detector works on a fixed grid relative to the frame: the size does not change its
# statistics, only its cost). Writes a markdown report (command, date, machine, commit first).
#
# Usage: Benchmarks/videomark-falsepos.sh --bin DIR [--minutes M] [--out FILE] [--key-file K]
#   M minutes in all (default 60). Run it at low priority: nice -n 19.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="$(cd "$here/.." && pwd)"
bin=""; minutes=60; out=""; keyfile=""; work=""
command_line="$0 $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$(cd "$2" && pwd)"; shift 2;;
        --minutes) minutes="$2"; shift 2;;
        --out) out="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2;;
        --key-file) keyfile="$2"; shift 2;;
        --work) work="$2"; shift 2;;
        *) echo "videomark-falsepos: unknown option $1" >&2; exit 2;;
    esac
done
[ -n "$bin" ] && [ -x "$bin/labelcast" ] || { echo "videomark-falsepos: --bin DIR with a release labelcast is required" >&2; exit 2; }
[ -n "$work" ] || work="$(mktemp -d /tmp/videomark-fp.XXXXXX)"
mkdir -p "$work"
if [ -z "$keyfile" ]; then keyfile="$work/key"; printf 'videomark sweep key 2026, not secret' > "$keyfile"; fi
started=$(date -u '+%Y-%m-%d %H:%M UTC')
per=$(awk -v m="$minutes" 'BEGIN{printf "%d", m*60/6}')
photo() { echo "/usr/share/wallpapers/$1/contents/images/1920x1080.jpg"; }
sources=("lavfi:testsrc2=size=640x360:rate=30"
         "lavfi:smptehdbars=s=640x360:rate=30"
         "lavfi:cellauto=s=640x360:rate=30:rule=110"
         "lavfi:life=s=640x360:rate=30:mold=10:ratio=0.3"
         "lavfi:gradients=s=640x360:rate=30:speed=0.05"
         "photo")
rows="| content | seconds | video detections (all false) | strongest video sync z | wall time (s) |"$'\n'"| --- | --- | --- | --- | --- |"
total=0; false_total=0
for s in "${sources[@]}"; do
    t0=$(date +%s)
    if [ "$s" = photo ]; then
        # Photos one after another (each per/4 s), slow zoom and pan.
        input=()
        filt=""
        i=0
        for p in Autumn ColdRipple Kite PastelHills; do
            [ -s "$(photo $p)" ] || continue
            input+=(-loop 1 -framerate 30 -t $((per / 4)) -i "$(photo $p)")
            filt+="[$i:v]scale=1280:720,zoompan=z='1+0.001*on':x='on*0.5':y='ih/2-(ih/zoom/2)':d=1:s=640x360:fps=30,setsar=1[v$i];"
            i=$((i + 1))
        done
        chain=""; for j in $(seq 0 $((i - 1))); do chain+="[v$j]"; done
        filt+="${chain}concat=n=$i:v=1:a=0,noise=alls=6:allf=t,format=yuv420p[out]"
        name="photos (${i})"
        json=$(nice -n 19 ffmpeg -nostdin -hide_banner -loglevel error "${input[@]}" -filter_complex "$filt" -map "[out]" -c:v rawvideo -f nut - \
               | nice -n 19 "$bin/labelcast" detect - --key-file "$keyfile" --json 2>/dev/null) || true
    else
        name="${s#lavfi:}"; name="${name%%=*}"
        json=$(nice -n 19 ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i "${s#lavfi:}" -t "$per" -vf "noise=alls=6:allf=t,format=yuv420p" -c:v rawvideo -f nut - \
               | nice -n 19 "$bin/labelcast" detect - --key-file "$keyfile" --json 2>/dev/null) || true
    fi
    r=$(printf '%s' "$json" | python3 -c 'import json,sys
try: d=json.load(sys.stdin)
except Exception: print("error - -"); sys.exit()
v=[s for s in d["segments"] if s.get("modality")=="video"]
print("%.0f %d %s" % (d.get("duration",0), len(v), d.get("video_sync_z")))')
    set -- $r
    rows+=$'\n'"| $name | $1 | $2 | $3 | $(( $(date +%s) - t0 )) |"
    [ "$1" != error ] && total=$(awk -v a=$total -v b="$1" 'BEGIN{print a+b}') && false_total=$((false_total + $2))
    echo "videomark-falsepos: $name done: $r" >&2
done
commit=$(git -C "$package" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$package" diff --quiet HEAD -- Sources 2>/dev/null || commit+=" (+ uncommitted changes)"
report=$(cat <<REPORT
## Video mark false positives (\`Benchmarks/videomark-falsepos.sh\`)

- Command: \`$command_line\`
- Date: $started to $(date -u '+%H:%M UTC')
- Machine: $(uname -srm), $(nproc) cores, shared; $(ffmpeg -version | head -1 | cut -d' ' -f1-3)
- Commit: $commit (labelcast release build from $bin)

Unmarked generated video, 640x360 30 fps with temporal grain, piped into \`labelcast detect - --json\`
(the right key: a detection would be a false one). In all: $(awk -v t=$total 'BEGIN{printf "%.1f", t/60}') min of video, **$false_total video detections**.

$rows
REPORT
)
if [ -n "$out" ]; then printf '%s\n' "$report" > "$out"; echo "videomark-falsepos: wrote $out" >&2; else printf '%s\n' "$report"; fi
