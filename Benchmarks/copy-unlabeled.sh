#!/usr/bin/env bash
# `labelcast run --copy-unlabeled` side by side with the ffmpeg CLI doing the same labeling job:
# a long 1080p30 H.264 file of which 30 s in the middle are synthetic.
#
#   Benchmarks/copy-unlabeled.sh [--minutes 10] [--bin .build/release] [--out Benchmarks/results/copy-unlabeled.md]
#
# 1. Time (/usr/bin/time: wall, user+sys CPU, max RSS) of
#      labelcast run -i IN -o OUT --segments A-B --copy-unlabeled --crf 23
#      ffmpeg -i IN -vf drawtext=…:enable='between(t,A,B)' (libx264 veryfast zerolatency CRF 23,
#        GOP 60, keyint_min 1: labelcast's encoder settings) -c:a aac -b:a 128k
#    (BENCH_COPY_FULL=1 adds labelcast without --copy-unlabeled: every frame re-encoded.)
# 2. Identity: `ffmpeg -f framemd5` of every decoded picture of the input and of labelcast's
#    output; every picture the frame log marks copied must be the input's, bit for bit.
# 3. Quality of what was re-encoded: PSNR-Y against the input over the re-encoded stretch, on
#    the bottom half of the picture (the labels sit top right; they differ between the tools),
#    for labelcast's output and for ffmpeg's full transcode.
# 4. Live-like: a 20 s 720p30 zerolatency input read with --realtime (per-picture copying, as
#    for a live input), synthetic 10% of the time (9-11 s): CPU and end-to-end video latency
#    p50/p99 (--metrics-json) with and without --copy-unlabeled.
# Inputs: 60 s testsrc2 + noise (as bench.sh), x264 veryfast CRF 23 GOP 60, AAC, looped to the
# length with stream copy, generated once under .build/bench.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init copy-unlabeled.sh copy-unlabeled.md
minutes=10
bench_option() { case $1 in --minutes) minutes=$2;; *) return 1;; esac; }
bench_args "$@"
bench_need ffmpeg ffprobe jq "$timebin"
bench_cjk_font

src60="$work/copy-src-1080p30-60s-v1.mp4"
if [ ! -s "$src60" ]; then
    log "generating $src60"
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=60,noise=alls=14:allf=t+u,format=yuv420p" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=60" -ac 2 \
        -c:v libx264 -preset veryfast -crf 23 -g 60 -c:a aac -b:a 128k "$src60.tmp.mp4"
    mv "$src60.tmp.mp4" "$src60"
fi
input="$work/copy-src-1080p30-${minutes}min-v1.mp4"
if [ ! -s "$input" ]; then
    log "looping to $minutes min"
    ffmpeg -hide_banner -loglevel error -y -stream_loop $((minutes - 1)) -i "$src60" -c copy "$input.tmp.mp4"
    mv "$input.tmp.mp4" "$input"
fi
seg_start=$(calc "$minutes * 30"); seg_start=${seg_start%.*}
seg_end=$((seg_start + 30))

x264=(-c:v libx264 -preset veryfast -tune zerolatency -crf 23 -g 60 -keyint_min 1)
drawtext="drawtext=fontfile=$font:text='AI生成 · AI-generated':fontcolor=white:fontsize=h*0.052:box=1:boxcolor=black@0.6:boxborderw=6:x=w-tw-h*0.02-6:y=h*0.02+6:enable='between(t,$seg_start,$seg_end)'"
declare -A wall cpu rss
timed() {   # $1 name, rest: command
    local name=$1; shift
    log "$name"
    if ! "$timebin" -f '%e %U %S %M' -o "$work/copy-time.txt" "$@" 2>"$work/copy-stderr.txt"; then
        log "$name failed:"; cat "$work/copy-stderr.txt" >&2; exit 1
    fi
    read -r w u s m <"$work/copy-time.txt"
    wall[$name]=$w; cpu[$name]=$(calc "$u + $s"); rss[$name]=$m
}
lc_out="$work/copy-out-labelcast.mp4"; ff_out="$work/copy-out-ffmpeg.mp4"; full_out="$work/copy-out-full.mp4"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
timed labelcast "$lc" run -i "$input" -o "$lc_out" --segments "$seg_start-$seg_end" --copy-unlabeled --crf 23 \
    --aigc-produce-id bench --frame-log "$work/copy-frames.csv" --metrics-json "$work/copy-metrics.json" --quiet
timed ffmpeg ffmpeg -nostdin -hide_banner -loglevel error -y -i "$input" -vf "$drawtext" "${x264[@]}" -c:a aac -b:a 128k "$ff_out"
if [ "${BENCH_COPY_FULL:-0}" = 1 ]; then
    timed full "$lc" run -i "$input" -o "$full_out" --segments "$seg_start-$seg_end" --crf 23 --aigc-produce-id bench --quiet
fi
rt_src="$work/copy-src-720p30-20s-zerolatency-v1.mp4"
bench_live_input "$rt_src" -g 60
timed rt_copy "$lc" run -i "$rt_src" -o "$work/copy-rt-copy.mp4" --realtime --segments 9-11 --copy-unlabeled --crf 23 \
    --metrics-json "$work/copy-rt-copy.json" --quiet
timed rt_full "$lc" run -i "$rt_src" -o "$work/copy-rt-full.mp4" --realtime --segments 9-11 --crf 23 \
    --metrics-json "$work/copy-rt-full.json" --quiet
rt_copied=$(jq -r '.lanes[] | select(.lane == "video") | .counts.frames_copied' "$work/copy-rt-copy.json")
lat() { jq -r ".latency.video.total.$2 / 1000" "$1" | xargs printf '%.1f'; }
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

log "identity: framemd5 of input and output"
ffmpeg -v error -i "$input" -map 0:v:0 -f framemd5 - | grep -v '^#' | awk -F', *' '{print $NF}' >"$work/copy-in.md5"
ffmpeg -v error -i "$lc_out" -map 0:v:0 -f framemd5 - | grep -v '^#' | awk -F', *' '{print $NF}' >"$work/copy-out.md5"
decode_errors=$(ffmpeg -v error -i "$lc_out" -map 0:v:0 -f null - 2>&1 | wc -l)
# Frame log rows of the video lane in written order: media time and the copied flag.
awk -F, 'NR > 1 && $2 == "video" {print $3, $16}' "$work/copy-frames.csv" | sort -g >"$work/copy-flags.txt"
identity=$(paste -d' ' "$work/copy-in.md5" "$work/copy-out.md5" <(awk '{print $2}' "$work/copy-flags.txt") | awk '
    { n++; if ($1 == $2) same++; if ($3 == 1) { copied++; if ($1 != $2) bad++ } else re++ }
    END { printf "%d %d %d %d %d", n, same, copied, bad + 0, re }')
read -r pictures identical copied copied_bad reencoded <<<"$identity"
in_pictures=$(wc -l <"$work/copy-in.md5")
re_span=$(awk '$2 == 0 {if (!n++) a = $1; b = $1} END {printf "%.3f %.3f", a, b}' "$work/copy-flags.txt")
read -r re_from re_to <<<"$re_span"

log "quality of the re-encoded stretch (PSNR-Y, bottom half)"
psnr() {   # $1 output, $2 from, $3 to → average PSNR-Y over [from, to), bottom half
    ffmpeg -hide_banner -v info -i "$1" -i "$input" -lavfi \
        "[0:v]trim=start=$2:end=$3,setpts=PTS-STARTPTS,crop=iw:ih/2:0:ih/2[a];[1:v]trim=start=$2:end=$3,setpts=PTS-STARTPTS,crop=iw:ih/2:0:ih/2[b];[a][b]psnr" \
        -f null - 2>&1 | grep -o 'PSNR y:[0-9.inf]*' | tail -1 | cut -d: -f2
}
# The GOP head before the segment: re-encoded, not synthetic (no label, no video mark), so the
# encoders alone are compared; over the segment labelcast's figure includes its video mark.
psnr_lc=$(psnr "$lc_out" "$re_from" "$seg_start"); psnr_ff=$(psnr "$ff_out" "$re_from" "$seg_start")
psnr_lc_seg=$(psnr "$lc_out" "$seg_start" "$seg_end"); psnr_ff_seg=$(psnr "$ff_out" "$seg_start" "$seg_end")
size_in=$(stat -c %s "$input"); size_lc=$(stat -c %s "$lc_out"); size_ff=$(stat -c %s "$ff_out")

ratio() { printf '%.1f' "$(calc "$1 / $2")"; }
{
    echo "# --copy-unlabeled against the ffmpeg CLI"
    echo
    echo "$(bench_machine),"
    echo "labelcast $(git -C "$package" rev-parse --short HEAD 2>/dev/null || echo '?') ($(basename "$bin") build). Command: \`Benchmarks/copy-unlabeled.sh --minutes $minutes\`. One run each."
    echo "Load average before/after: $load_before / $load_after."
    echo
    echo "Input: $minutes min 1080p30 H.264 (testsrc2 + noise, x264 veryfast CRF 23, IDR every 2 s), AAC; synthetic $seg_start-$seg_end s."
    echo "labelcast: \`--copy-unlabeled --crf 23\` (label, audio watermark, video mark, AIGC tag on the segment);"
    echo "ffmpeg: \`-vf drawtext=…:enable='between(t,$seg_start,$seg_end)'\` with libx264 veryfast zerolatency CRF 23, GOP 60, AAC 128k."
    echo
    echo "| what | labelcast --copy-unlabeled | ffmpeg drawtext | ratio (ffmpeg / labelcast) | target |"
    echo "|---|---|---|---|---|"
    echo "| wall | $(printf '%.1f' "${wall[labelcast]}") s | $(printf '%.1f' "${wall[ffmpeg]}") s | **$(ratio "${wall[ffmpeg]}" "${wall[labelcast]}")×** | ≥ 10× |"
    echo "| CPU (user + sys) | $(printf '%.1f' "${cpu[labelcast]}") s | $(printf '%.1f' "${cpu[ffmpeg]}") s | **$(ratio "${cpu[ffmpeg]}" "${cpu[labelcast]}")×** | ≥ 10× |"
    echo "| peak RSS | $((rss[labelcast] / 1024)) MB | $((rss[ffmpeg] / 1024)) MB | | |"
    echo "| output size | $((size_lc / 1048576)) MiB | $((size_ff / 1048576)) MiB | (input $((size_in / 1048576)) MiB) | |"
    echo "| PSNR-Y, re-encoded but not synthetic ($re_from-$seg_start s, bottom half) | $(printf '%.2f' "$psnr_lc") dB | $(printf '%.2f' "$psnr_ff") dB | | labelcast ≥ ffmpeg |"
    echo "| PSNR-Y over the segment ($seg_start-$seg_end s, bottom half; labelcast's includes its video mark) | $(printf '%.2f' "$psnr_lc_seg") dB | $(printf '%.2f' "$psnr_ff_seg") dB | | |"
    if [ -n "${wall[full]:-}" ]; then
        echo "| labelcast without --copy-unlabeled | $(printf '%.1f' "${wall[full]}") s wall, $(printf '%.1f' "${cpu[full]}") s CPU | | $(ratio "${cpu[full]}" "${cpu[labelcast]}")× CPU saved | |"
    fi
    echo "| live-like 720p30 \`--realtime\`, 10% synthetic: CPU | $(printf '%.1f' "${cpu[rt_copy]}") s | (labelcast without --copy-unlabeled: $(printf '%.1f' "${cpu[rt_full]}") s) | **$(printf '%.0f' "$(calc "100 * ${cpu[rt_copy]} / ${cpu[rt_full]}")")%** of a full re-encode | ≤ 25% |"
    echo "| same, video end-to-end latency p50 / p99 | $(lat "$work/copy-rt-copy.json" p50) / $(lat "$work/copy-rt-copy.json" p99) ms | $(lat "$work/copy-rt-full.json" p50) / $(lat "$work/copy-rt-full.json" p99) ms (full re-encode) | | p99 within 10 ms |"
    echo
    echo "Live-like run: $rt_copied of 600 pictures copied."
    echo
    echo "Identity (\`ffmpeg -f framemd5\`): $identical of $pictures pictures bit-identical to the input ($in_pictures in the input);"
    echo "$copied copied (frame log), of which **$copied_bad differ** (target 0); $reencoded re-encoded, $re_from-$re_to s; decoder errors in the output: $decode_errors."
} >"$out_md"
cat "$out_md"
