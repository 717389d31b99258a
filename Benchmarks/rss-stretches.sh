#!/usr/bin/env bash
# Memory over many re-encoded stretches: does RSS come back to the same floor after each one?
# A 400 s 1280x720p30 H.264 zerolatency input (IDR every 2 s) + AAC read with --realtime and a
# control API (--listen: continuous decoding, as a live operator runs it), synthetic 10 s of
# every 20 s (19 stretches, each with its own encoder), RSS and CPU time of labelcast every 5 s.
#
#   Benchmarks/rss-stretches.sh [--bin .build/release] [--seconds 400] [--out Benchmarks/results/rss-stretches.md]
#
# Two runs side by side in the same minutes (each ~0.4 core; the machine must have the rest free):
#   fixed    labelcast as shipped (Allocator.fixMmapThreshold: glibc's mmap threshold fixed at 128 KiB)
#   sliding  the same binary with glibc's default sliding threshold (GLIBC_TUNABLES set to a
#            harmless malloc tunable, glibc.malloc.arena_test=8, so labelcast leaves malloc alone)
# Reported per run: the floor (median of the non-synthetic samples, 5 s after a stretch ends)
# in the first third of the run and in the last third, their difference; the peak; CPU seconds.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init rss-stretches.sh rss-stretches.md
seconds=400
bench_option() { case $1 in --seconds) seconds=$2;; *) return 1;; esac; }
bench_args "$@"
bench_need ffmpeg awk

src="$work/rss-src-720p30-${seconds}s-v1.mp4"
if [ ! -s "$src" ]; then
    log "making the ${seconds} s input"
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$seconds" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$seconds" -ac 2 \
        -c:v libx264 -preset ultrafast -tune zerolatency -g 60 -c:a aac "$src.tmp.mp4"
    mv "$src.tmp.mp4" "$src"
fi
segs=$(awk -v d="$seconds" 'BEGIN { for (s = 20; s + 10 < d; s += 20) printf "%s%d-%d", (s > 20 ? "," : ""), s, s + 10 }')

one() {   # $1 name, $2 port, rest: environment
    local name=$1 port=$2; shift 2
    env "$@" "$lc" run -q --realtime -i "$src" -o "$work/rss-$name.mp4" --segments "$segs" \
        --listen "127.0.0.1:$port" >"$work/rss-$name.log" 2>&1 &
    local pid=$! t=0 tick
    tick=$(getconf CLK_TCK)
    : >"$work/rss-$name.tsv"
    while kill -0 "$pid" 2>/dev/null; do
        awk -v t="$t" -v hz="$tick" 'FNR == 1 && FILENAME ~ /stat$/ { cpu = ($14 + $15) / hz }
            /^VmRSS:/ { rss = $2 } END { if (rss) printf "%d\t%d\t%.2f\n", t, rss, cpu }' \
            "/proc/$pid/stat" "/proc/$pid/status" >>"$work/rss-$name.tsv" 2>/dev/null || true
        sleep 5; t=$((t + 5))
    done
    wait "$pid" || { log "$name: labelcast failed: $(tail -n 3 "$work/rss-$name.log")"; exit 2; }
}
log "two runs of $seconds s side by side"
one fixed 18491 LABELCAST_BENCH=1 &
f=$!
one sliding 18492 GLIBC_TUNABLES=glibc.malloc.arena_test=8 &
s=$!
wait $f; wait $s

summary() {   # $1 name → "floor_first floor_last growth% peak cpu"
    awk -F'\t' -v d="$seconds" '
        { t = $1; rss = $2 / 1024; cpu = $3; if (rss > peak) peak = rss
          ph = t % 20   # stretches 20k..20k+10: off from 10 to 20 of each period
          if (t >= 20 && ph >= 15) { if (t < d / 3) a[na++] = rss; else if (t >= 2 * d / 3) b[nb++] = rss } }
        function median(x, n,   i, j, v) { for (i = 1; i < n; i++) { v = x[i]; for (j = i - 1; j >= 0 && x[j] > v; j--) x[j + 1] = x[j]; x[j + 1] = v }
            return n % 2 ? x[(n - 1) / 2] : (x[n / 2 - 1] + x[n / 2]) / 2 }
        END { fa = median(a, na); fb = median(b, nb); printf "%.1f %.1f %+.1f %.1f %.1f %d %d\n", fa, fb, (fb - fa) / fa * 100, peak, cpu, na, nb }' "$work/rss-$1.tsv"
}
read -r fa1 fb1 g1 p1 c1 na1 nb1 <<<"$(summary fixed)"
read -r fa2 fb2 g2 p2 c2 na2 nb2 <<<"$(summary sliding)"
series() { awk -F'\t' '$1 % 20 == 15 { printf "%s%.0f", (n++ ? " " : ""), $2 / 1024 }' "$work/rss-$1.tsv"; }
commit=$(git -C "$package" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$package" diff --quiet 2>/dev/null || commit="$commit (+ uncommitted changes)"
{
    echo "## RSS over re-encoded stretches (\`Benchmarks/rss-stretches.sh\`)"
    echo
    echo "$(bench_machine); labelcast $commit ($lc)."
    echo "Command: \`Benchmarks/rss-stretches.sh --bin $bin --seconds $seconds\` — ${seconds} s 720p30 zerolatency H.264 + AAC, \`--realtime --listen\`, synthetic 10 s of every 20 s; both runs side by side."
    echo
    echo "| run | floor, first third | floor, last third | growth | peak | CPU s |"
    echo "|---|---|---|---|---|---|"
    echo "| fixed mmap threshold (as shipped) | $fa1 MB ($na1 samples) | $fb1 MB ($nb1) | **$g1%** | $p1 MB | $c1 |"
    echo "| glibc's sliding threshold | $fa2 MB ($na2) | $fb2 MB ($nb2) | **$g2%** | $p2 MB | $c2 |"
    echo
    echo "Floor = median RSS of the samples 5 s after each stretch ends (MB = MiB). RSS at those instants, in order:"
    echo "- fixed: $(series fixed)"
    echo "- sliding: $(series sliding)"
} >"$out_md"
cat "$out_md"
