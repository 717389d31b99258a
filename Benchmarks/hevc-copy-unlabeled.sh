#!/usr/bin/env bash
# `labelcast run --copy-unlabeled` on an HEVC file side by side with the ffmpeg CLI doing the
# same labeling job with libx265: a 1-minute 720p30 HEVC file with 5 s synthetic (30-35 s).
#
#   Benchmarks/hevc-copy-unlabeled.sh [--bin .build/release] [--out Benchmarks/results/hevc-copy-unlabeled.md]
#
# Times (/usr/bin/time: wall, user+sys CPU) of
#   labelcast run -i IN -o OUT --segments 30-35 --copy-unlabeled --crf 28
#   ffmpeg -i IN -vf drawtext=…:enable='between(t,30,35)' -c:v libx265 -preset veryfast -tune zerolatency -crf 28 -c:a aac
# and the identity check: pictures of labelcast's output whose framemd5 equals the input's,
# against the frame log's copied count.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init hevc-copy-unlabeled.sh hevc-copy-unlabeled.md
bench_args "$@"
bench_need ffmpeg ffprobe "$timebin"
bench_cjk_font
input="$work/hevc-src-720p30-60s-v1.mp4"
if [ ! -s "$input" ]; then
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=60,noise=alls=10:allf=t+u,format=yuv420p" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=60" -ac 2 \
        -c:v libx265 -preset ultrafast -crf 26 -x265-params log-level=error:keyint=60:min-keyint=60:scenecut=0:open-gop=0 \
        -c:a aac -b:a 128k "$input.tmp.mp4"
    mv "$input.tmp.mp4" "$input"
fi
drawtext="drawtext=fontfile=$font:text='AI生成 · AI-generated':fontcolor=white:fontsize=h*0.052:box=1:boxcolor=black@0.6:boxborderw=6:x=w-tw-h*0.02-6:y=h*0.02+6:enable='between(t,30,35)'"
timed() { # $1 name, rest: command → "wall cpu"
    local name=$1; shift
    /usr/bin/time -f "%e %U %S" -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.log"
    awk '{ printf "%.1f %.1f\n", $1, $2 + $3 }' "$work/$name.time"
}
lcout="$work/hevc-lc.mp4"; ffout="$work/hevc-ff.mp4"
read -r lw lcpu < <(timed hevc-lc nice -n 5 "$lc" run -q -i "$input" -o "$lcout" --segments 30-35 --copy-unlabeled --crf 28 --frame-log "$work/hevc-lc.csv")
read -r fw fcpu < <(timed hevc-ff nice -n 5 ffmpeg -hide_banner -loglevel error -y -i "$input" -vf "$drawtext" \
    -c:v libx265 -preset veryfast -tune zerolatency -crf 28 -x265-params log-level=error -c:a aac -b:a 128k "$ffout")
hashes() { ffmpeg -v error -i "$1" -map 0:v:0 -f framemd5 - | grep -v '^#' | awk -F, '{ print $NF }'; }
same=$(paste <(hashes "$input") <(hashes "$lcout") | awk '$1 == $2' | wc -l)
total=$(hashes "$lcout" | wc -l)
copied=$(awk -F, '$2 == "video" && $NF == "1"' "$work/hevc-lc.csv" | wc -l)
errors=$(ffmpeg -v error -i "$lcout" -f null - 2>&1 | wc -l)
{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(ffmpeg -version | head -1 | cut -d' ' -f1-3),"
    echo "labelcast $(git -C "$package" rev-parse --short HEAD) ($bin). Command: \`Benchmarks/hevc-copy-unlabeled.sh --bin $bin\`. One run each; load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "Input: 60 s 1280x720p30 HEVC (testsrc2 + noise, x265 ultrafast CRF 26, IDR every 2 s), AAC; synthetic 30-35 s."
    echo
    echo "| what | labelcast --copy-unlabeled --crf 28 | ffmpeg drawtext + libx265 veryfast CRF 28 | ratio |"
    echo "|---|---|---|---|"
    echo "| wall | $lw s | $fw s | $(awk "BEGIN { printf \"%.1f×\", $fw / $lw }") |"
    echo "| CPU (user + sys) | $lcpu s | $fcpu s | $(awk "BEGIN { printf \"%.1f×\", $fcpu / $lcpu }") |"
    echo
    echo "Identity: $same of $total pictures bit-identical to the input (framemd5); frame log: $copied copied; decoder errors in labelcast's output: $errors."
} > "$out_md"
cat "$out_md"
