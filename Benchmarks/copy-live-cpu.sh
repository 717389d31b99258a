#!/usr/bin/env bash
# Live-like `--copy-unlabeled` CPU and latency: a 20 s 720p30 H.264 zerolatency input (IDR every
# 2 s) read with --realtime (per-picture copying, as for a live input), synthetic 9-11 s (10%).
#
#   Benchmarks/copy-live-cpu.sh [--bin .build/release] [--reps 3] [--out Benchmarks/results/copy-live-cpu.md]
#
# For each rep, user+sys CPU (/usr/bin/time) and video end-to-end latency p50/p99/max
# (--metrics-json) of
#   ahead       labelcast run --realtime --segments 9-11 --copy-unlabeled            (the default without --listen)
#   continuous  the same with --copy-decode continuous                               (the default with --listen)
#   full        labelcast run --realtime --segments 9-11 --transcode (every picture re-encoded)
# on the input with its AAC audio and on its video alone. Ratios are per rep (copy / full of the
# same rep); the table gives their mean and the worst rep. Last, a start the decoder cannot see
# coming (a 6 s GOP after 2 s ones, segment at 9.5 s): the catch-up decode's latency, ahead vs
# continuous. Inputs are generated once under .build/bench.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init copy-live-cpu.sh copy-live-cpu.md
reps=3
bench_option() { case $1 in --reps) reps=$2;; *) return 1;; esac; }
bench_args "$@"
bench_need ffmpeg jq "$timebin"

src="$work/copy-src-720p30-20s-zerolatency-v1.mp4"
bench_live_input "$src" -g 60
src_v="$work/copy-src-720p30-20s-zerolatency-v1-video.mp4"
[ -s "$src_v" ] || ffmpeg -hide_banner -loglevel error -y -i "$src" -map 0:v -c copy "$src_v"
src_long="$work/copy-src-720p30-20s-zerolatency-longgop-v1.mp4"
bench_live_input "$src_long" -x264-params keyint=600:scenecut=0 -force_key_frames 0,2,4,6,12,14,16,18

declare -A cpu p50 p99 pmax
one() {   # $1 key, $2 input, $3 segments, rest: options
    local key=$1 input=$2 segs=$3; shift 3
    "$timebin" -f '%U %S' -o "$work/live-time.txt" "$lc" run -i "$input" -o "$work/live-out.mp4" --realtime \
        --segments "$segs" --crf 23 --metrics-json "$work/live-m.json" --quiet "$@"
    read -r u s <"$work/live-time.txt"
    cpu[$key]=$(calc "$u + $s")
    p50[$key]=$(jq -r '.latency.video.total.p50 / 1000' "$work/live-m.json")
    p99[$key]=$(jq -r '.latency.video.total.p99 / 1000' "$work/live-m.json")
    pmax[$key]=$(jq -r '.latency.video.total.max / 1000' "$work/live-m.json")
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$reps"); do
    for input in av v; do
        file=$src; [ $input = v ] && file=$src_v
        log "rep $r, $input: ahead, continuous, full"
        one "ahead.$input.$r" "$file" 9-11 --copy-unlabeled
        one "continuous.$input.$r" "$file" 9-11 --copy-unlabeled --copy-decode continuous
        one "full.$input.$r" "$file" 9-11 --transcode
    done
done
log "unforeseen start: ahead, continuous"
one "late.ahead" "$src_long" 9.5-11 --copy-unlabeled --copy-decode ahead
one "late.continuous" "$src_long" 9.5-11 --copy-unlabeled --copy-decode continuous
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

f1() { printf '%.1f' "$1"; }
row() {   # $1 mode, $2 input → table row
    local mode=$1 input=$2 sum=0 worst=0 csum=0 fsum=0 l99=0 l50=0
    for r in $(seq 1 "$reps"); do
        local c=${cpu[$mode.$input.$r]} f=${cpu[full.$input.$r]}
        local pct; pct=$(calc "100 * $c / $f")
        sum=$(calc "$sum + $pct"); csum=$(calc "$csum + $c"); fsum=$(calc "$fsum + $f")
        worst=$(calc "($pct > $worst) ? $pct : $worst")
        l99=$(calc "(${p99[$mode.$input.$r]} > $l99) ? ${p99[$mode.$input.$r]} : $l99")
        l50=$(calc "(${p50[$mode.$input.$r]} > $l50) ? ${p50[$mode.$input.$r]} : $l50")
    done
    echo "| $mode | $([ "$input" = av ] && echo 'video + audio' || echo 'video only') | $(f1 "$(calc "$csum / $reps")") s | $(f1 "$(calc "$fsum / $reps")") s | **$(printf '%.0f' "$(calc "$sum / $reps")")%** | $(printf '%.0f' "$worst")% | $(f1 "$l50") / $(f1 "$l99") ms |"
}
fullrow() {
    local input=$1 l99=0 l50=0
    for r in $(seq 1 "$reps"); do
        l99=$(calc "(${p99[full.$input.$r]} > $l99) ? ${p99[full.$input.$r]} : $l99")
        l50=$(calc "(${p50[full.$input.$r]} > $l50) ? ${p50[full.$input.$r]} : $l50")
    done
    echo "| full (--transcode) | $([ "$input" = av ] && echo 'video + audio' || echo 'video only') | | | 100% | | $(f1 "$l50") / $(f1 "$l99") ms |"
}
{
    echo "# Live-like --copy-unlabeled: CPU and latency"
    echo
    echo "$(bench_machine),"
    echo "labelcast $(git -C "$package" rev-parse --short HEAD 2>/dev/null || echo '?') ($(basename "$bin") build). Command: \`Benchmarks/copy-live-cpu.sh --reps $reps\`."
    echo "Load average before/after: $load_before / $load_after."
    echo
    echo "Input: 20 s 720p30 H.264 (testsrc2 + noise, x264 veryfast zerolatency 5 Mb/s, IDR every 2 s), AAC stereo; \`--realtime --segments 9-11 --crf 23\` (10% synthetic)."
    echo "CPU = user + sys of the whole run; % = copy / full of the same rep (mean of $reps reps, and the worst rep); latency = video end-to-end p50 / p99, the worst rep's."
    echo
    echo "| --copy-decode | input | CPU (mean) | full re-encode CPU (mean) | % of full (mean) | % worst rep | latency p50 / p99 (worst) |"
    echo "|---|---|---|---|---|---|---|"
    row ahead av; row continuous av; fullrow av
    row ahead v; row continuous v; fullrow v
    echo
    echo "A start the decoder could not see coming (a 6 s GOP after 2 s ones, segment 9.5-11 s: asleep from the IDR at 6 s, woken at 9.43 s, the 103 pictures since decoded first):"
    echo
    echo "| --copy-decode | CPU | latency p50 / p99 / max |"
    echo "|---|---|---|"
    for m in ahead continuous; do
        echo "| $m | $(f1 "${cpu[late.$m]}") s | $(f1 "${p50[late.$m]}") / $(f1 "${p99[late.$m]}") / $(f1 "${pmax[late.$m]}") ms |"
    done
} >"$out_md"
cat "$out_md"
