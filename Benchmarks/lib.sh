# Shared by the --copy-unlabeled benchmarks (copy-live-cpu.sh, copy-live-streams.sh,
# copy-unlabeled.sh, hevc-copy-unlabeled.sh); sourced, not run:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init NAME RESULT.md          # here, package, work, bin, out_md; log, calc
#   bench_option() { case $1 in --reps) reps=$2;; *) return 1;; esac; }   # optional: extra options
#   bench_args "$@"                    # --bin DIR, --out FILE and the script's own options
#   bench_need ffmpeg jq /usr/bin/time # each tool on PATH (and lc=$bin/labelcast), else exit 2
#
# Inputs are generated once under $work (.build/bench, or $BENCH_WORK) and kept.

bench_init() {   # $1 script name (for messages), $2 result file under Benchmarks/results
    bench_name=$1
    here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
    package="$(cd "$here/.." && pwd)"
    work="${BENCH_WORK:-$package/.build/bench}"
    bin="$package/.build/release"
    out_md="$package/Benchmarks/results/$2"
    timebin=/usr/bin/time
}

log() { echo "${bench_name%.sh}: $*" >&2; }
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }

# --bin and --out, then the script's bench_option (if it defines one) for the others; every
# option takes a value. Anything else: one line naming it, exit 2.
bench_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --bin|--out|--*)
                [ $# -ge 2 ] || { echo "$bench_name: $1 needs a value" >&2; exit 2; }
                case "$1" in
                    --bin) bin=$2;;
                    --out) out_md=$2;;
                    *) { declare -F bench_option >/dev/null && bench_option "$1" "$2"; } \
                        || { echo "$bench_name: unknown option $1" >&2; exit 2; };;
                esac
                shift 2;;
            *) echo "$bench_name: unknown argument $1" >&2; exit 2;;
        esac
    done
    lc="$bin/labelcast"
}

bench_need() {   # tools (names on PATH or paths); the labelcast binary always
    local tool
    for tool in "$@" "$lc"; do
        command -v "$tool" >/dev/null || { echo "$bench_name: $tool is missing (make bench installs it)" >&2; exit 2; }
    done
    mkdir -p "$work" "$(dirname "$out_md")"
}

bench_cjk_font() {   # sets font: the CJK font drawtext uses for the ffmpeg side of a comparison
    font=$(fc-match -f '%{file}' 'WenQuanYi Zen Hei' 2>/dev/null || true)
    [ -f "$font" ] || { echo "$bench_name: no CJK font for drawtext (fonts-wqy-zenhei)" >&2; exit 2; }
}

# The live-like input: 20 s 1280x720p30 H.264 zerolatency (testsrc2 + noise, 5 Mb/s CBR-ish),
# 440 Hz AAC. $1 path, the rest extra x264 options (the GOP), e.g. -g 60.
bench_live_input() {
    local path=$1; shift
    [ -s "$path" ] && return
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=20,noise=alls=14:allf=t+u,format=yuv420p" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=20" -ac 2 \
        -c:v libx264 -preset veryfast -tune zerolatency -b:v 5M -maxrate 5M -bufsize 5M "$@" -c:a aac "$path.tmp.mp4"
    mv "$path.tmp.mp4" "$path"
}

# "Measured DATE on N cores (CPU), KERNEL, ffmpeg VERSION": the head of each result's
# provenance line.
bench_machine() {
    local cpu_model
    cpu_model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
    echo "Measured $(date -u '+%F %H:%M UTC') on $(nproc) cores ($cpu_model), $(uname -sr), $(ffmpeg -version | awk 'NR==1{print $1, $3}')"
}
