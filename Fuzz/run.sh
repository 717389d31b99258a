#!/usr/bin/env bash
# Builds the libFuzzer targets and runs one, or all one after another.
#
#   Fuzz/run.sh [TARGET|all|inspect] [seconds] [libFuzzer flags...]
#
# Targets: segment-schedule control-body watermark-detector (the run side), aigc-value
# timed-id3 c2pa-report hls-playlist media-boxes (what `labelcast inspect` parses; `inspect`
# runs just these).
#
# Defaults: all, 600 s each. Build products, the growing corpus, crash artifacts, findings and
# logs go under .build-fuzz/ in the main package (git-ignored); Fuzz/corpus/<target>/ holds
# only the seeds, which libFuzzer reads but never writes to. FUZZ_BUILD_ONLY=1 just builds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${FUZZ_BUILD_PATH:-$root/.build-fuzz}
target=${1:-all}
seconds=${2:-600}
shift $(( $# > 2 ? 2 : $# ))

inspect_targets=(aigc-value timed-id3 c2pa-report hls-playlist media-boxes)
case $target in
    all) targets=(segment-schedule control-body watermark-detector "${inspect_targets[@]}") ;;
    inspect) targets=("${inspect_targets[@]}") ;;
    segment-schedule|control-body|watermark-detector|aigc-value|timed-id3|c2pa-report|hls-playlist|media-boxes) targets=("$target") ;;
    *) echo "usage: $0 [segment-schedule|control-body|watermark-detector|${inspect_targets[*]// /|}|all|inspect] [seconds] [libFuzzer flags...]" >&2; exit 2 ;;
esac

# A timing benchmark may hold the machine: do nothing CPU-heavy while it runs.
wait_for_bench() { while [ -e /tmp/bench.lock ]; do sleep 20; done; }

# Prints the directory holding the target's executable, after building it.
#  - The parser targets: debug, where SwiftPM turns on testability (`@testable import
#    Labelcast` needs it). -sanitize=fuzzer instruments every Swift module for coverage,
#    including comparison tracing (what lets libFuzzer guess JSON keys and separators), and
#    links libFuzzer; -parse-as-library as the targets have no top-level code.
#  - The detector: release, in a build path of its own, and coverage without comparison
#    tracing: in the DSP loops the tracing callbacks took over half the time (5x fewer runs).
build() {
    local t=$1 path config flags=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
    if [ "$t" = watermark-detector ]; then
        path=$out/detector config=release
        flags+=(-Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table)
    else
        path=$out config=debug
    fi
    wait_for_bench
    # (Quietened: per-file progress, and gold's thousands of warnings about ASan's symbols.)
    (cd "$here" && swift build -c "$config" --build-path "$path" --product "fuzz-$t" "${flags[@]}" 2>&1 |
        { grep -vE "ld.gold: warning: Cannot export local symbol|unhandled; explicitly declare|^\[[0-9]+/[0-9]+\] Compiling|CMakeLists.txt\$" >&2 || true; })
    (cd "$here" && swift build -c "$config" --build-path "$path" --show-bin-path "${flags[@]}")
}

# Swift's own crash backtracer would attach to the dying fuzzer (and trip ASan); leave crash
# reports to ASan and libFuzzer, which also save the input.
export SWIFT_BACKTRACE=enable=no
status=0
for t in "${targets[@]}"; do
    bin=$(build "$t")
    [ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && continue
    scratch=$out/corpus/$t
    artifacts=$out/artifacts/$t
    mkdir -p "$scratch" "$artifacts" "$out/logs" "$out/findings/$t"
    wait_for_bench
    echo "== fuzz-$t for ${seconds}s (corpus $scratch, log $out/logs/$t.log)"
    # New inputs go to the first corpus directory (scratch); the seeds are only read.
    FUZZ_FINDINGS_DIR=$out/findings/$t "$bin/fuzz-$t" \
        -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
        $( [ -f "$here/dict/$t.dict" ] && echo "-dict=$here/dict/$t.dict" ) -artifact_prefix="$artifacts/" "$@" \
        "$scratch" "$here/corpus/$t" > "$out/logs/$t.log" 2>&1 ||
        { status=$?; echo "== fuzz-$t stopped with exit $status: see $artifacts/ and the log"; }
    grep -E '^#[0-9]+' "$out/logs/$t.log" | tail -1 || true
    grep -E '^stat::|^Done' "$out/logs/$t.log" || true
    echo "   corpus: $(find "$scratch" -type f | wc -l) files in $scratch; false positives saved: $(find "$out/findings/$t" -type f | wc -l)"
done
exit $status
