#!/usr/bin/env bash
# What the browser playback check (BrowserPlaybackTests, issue 21) costs and what it found:
# Debian's headless Chromium's size and install time, which MSE types it takes, and the suite's
# run time. Writes Benchmarks/results/browser-playback.md.
#
#   Benchmarks/browser-playback.sh [--out FILE]
#
# Installs chromium-headless-shell when it is missing (timed: download + unpack, what
# `make browser-test` adds to a machine that has `make deps`), then builds the tests and runs
# `swift test --skip-build --filter BrowserPlaybackTests`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="$(cd "$here/.." && pwd)"
out_md="$package/Benchmarks/results/browser-playback.md"
[ "${1:-}" = "--out" ] && out_md=$2
pkg=chromium-headless-shell
sudo=$([ "$(id -u)" = 0 ] || echo sudo)
mkdir -p "$(dirname "$out_md")"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# The packages each browser adds to the ones `make deps` installs (apt's dependency closure
# without recommends, less the required/important base): count, download, installed size.
deps=$(awk '/^DEB_PACKAGES :=/ { on = 1; sub(/^DEB_PACKAGES :=/, "") } on { c = sub(/\\$/, ""); printf "%s ", $0; if (!c) exit }' "$package/Makefile")
closure() { python3 - "$deps" "$1" <<'PY'
import re, subprocess, sys
def closure(pkgs):
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                          "--no-breaks", "--no-replaces", "--no-enhances"] + pkgs, capture_output=True, text=True).stdout
    return {l.strip() for l in out.splitlines() if l and not l.startswith((" ", "<"))}
def sizes(names):
    out = subprocess.run(["apt-cache", "show", "--no-all-versions"] + sorted(names), capture_output=True, text=True).stdout
    res = {}
    for block in out.split("\n\n"):
        m = re.search(r"^Package: (\S+)", block, re.M)
        if not m: continue
        g = lambda k: (re.search(r"^%s: (\S+)" % k, block, re.M) or [None, "0"])[1]
        if g("Priority") not in ("required", "important"): res[m.group(1)] = (int(g("Size")), int(g("Installed-Size")))
    return res
base = sizes(closure(sys.argv[1].split())); more = sizes(closure(sys.argv[1].split() + [sys.argv[2]]))
extra = {k: v for k, v in more.items() if k not in base}
tot = lambda d: (len(d), sum(v[0] for v in d.values()) / 1e6, sum(v[1] for v in d.values()) / 1e3)
print("%d %.0f %.0f %d %.0f %.0f" % (tot(base) + tot(extra)))
PY
}
read -r bn bdl bin hn hdl hin < <(closure $pkg)
read -r _ _ _ cn cdl cin < <(closure chromium)

install="already installed (not timed)"
if ! dpkg -s $pkg >/dev/null 2>&1; then
    start=$(date +%s.%N)
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkg >"$work/apt.log"
    install="$(awk "BEGIN { printf \"%.1f s\", $(date +%s.%N) - $start }") (apt-get update + install, download included)"
fi
version=$($pkg --version)

# The MSE types it takes.
types=('video/mp4; codecs="avc1.640015"' 'video/mp4; codecs="avc3.640015"' 'video/mp4; codecs="avc1.42E01E, mp4a.40.2"'
       'video/mp4; codecs="hev1.1.6.L93.B0"' 'video/mp4; codecs="hvc1.1.6.L93.B0"')
args=(); for t in "${types[@]}"; do args+=(--types "$t"); done
python3 "$package/Tests/Browser/mse_run.py" "$work" "${args[@]}" >"$work/types.json"

# The suite.
(cd "$package" && swift build --build-tests >/dev/null)
start=$(date +%s.%N)
(cd "$package" && swift test --skip-build --filter 'BrowserPlaybackTests' 2>&1) >"$work/test.log" || true
suite=$(awk "BEGIN { printf \"%.0f\", $(date +%s.%N) - $start }")
{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(. /etc/os-release; echo "$PRETTY_NAME"),"
    echo "$version, labelcast $(git -C "$package" rev-parse --short HEAD). Command: \`Benchmarks/browser-playback.sh\`. Load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| what it adds to \`make deps\` ($bn packages, $bdl MB download, $bin MB installed) | packages | download | installed |"
    echo "|---|---|---|---|"
    echo "| $pkg | $hn | $hdl MB | $hin MB |"
    echo "| chromium (the full browser) | $cn | $cdl MB | $cin MB |"
    echo
    echo "Install of $pkg: $install."
    echo
    echo "MediaSource.isTypeSupported in $version:"
    echo
    python3 -c 'import json, sys; [print("- `%s`: %s" % (k, str(v).lower())) for k, v in json.load(open(sys.argv[1]))["types"].items()]' "$work/types.json"
    echo
    echo "\`swift test --skip-build --filter BrowserPlaybackTests\`: $suite s wall, debug build;"
    grep -E '(✔|✘) (Test|Suite) ' "$work/test.log" | sed -E 's/\x1b\[[0-9;]*m//g; s/^/    /'
} >"$out_md"
cat "$out_md"
