#!/usr/bin/env bash
# C2PA signing cost per file: labelcast's own `c2pa.sign_millis` (--metrics-json) for 720p30
# MP4s of 10 s and 2 min, all synthetic and partly synthetic, REPS runs each (default 3); then the
# same inputs as HLS-fMP4 (2 s segments): the end-of-run signing of the init segment, the cost per
# media segment on the mux queue (Merkle box) and its SHA-256 on the signer's own queue, and a 20 s `--realtime` run's re-signing while live.
# ONLY=files or ONLY=segmented runs one half.
# Usage: Benchmarks/c2pa-cost.sh [LABELCAST_BINARY]   (needs `make deps` for .deps/c2pa)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/.build/debug/labelcast}
reps=${REPS:-3}
echo "# c2pa-cost: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $bin, REPS=$reps ONLY=${ONLY:-all}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# A throwaway test PKI (root CA + signer with emailProtection), as in the README.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -days 2 \
  -subj "/CN=bench root" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout signer.key -out signer.csr -subj "/CN=bench signer" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\n' > signer.ext
openssl x509 -req -in signer.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile signer.ext -out signer.pem 2>/dev/null
cat signer.pem root.pem > chain.pem
only=${ONLY:-}
for s in 10 120; do
  [ -f in$s.mp4 ] || nice -n 10 ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=f=440:sample_rate=48000 -t $s \
    -pix_fmt yuv420p -ac 2 -c:v libx264 -preset ultrafast -b:v 3M -c:a aac in$s.mp4
  [ "$only" = segmented ] && continue
  for mode in all partial; do
    for rep in $(seq "$reps"); do
      rm -f out.mp4 m.json
      if [ $mode = all ]; then seg=(--synthetic all); else seg=(--segments 2-5); fi
      nice -n 10 "$bin" run -q -i in$s.mp4 -o out.mp4 "${seg[@]}" --preset ultrafast \
        --c2pa-cert chain.pem --c2pa-key signer.key --metrics-json m.json
      python3 -c "
import json, os
c = json.load(open('m.json'))['c2pa']
print('%4d s %-7s run %s: sign %.1f ms, credential check %.1f ms, manifest %d bytes, file %.1f MB' % ($s, '$mode', '$rep', c['sign_millis'], c['check_millis'], c['manifest_bytes'], os.path.getsize('out.mp4') / 1e6))"
    done
  done
done

[ "$only" = files ] && exit 0
report='
import json, sys
c = json.load(open("m.json"))["c2pa"]
print("%s: init signing %.1f ms (%d init, %d media segments, manifest %d bytes); per media segment on the mux queue %.0f us mean, %.0f us max%s%s" % (
    sys.argv[1], c["sign_millis"], c["init_segments"], c["fragments"], c["manifest_bytes"], c["fragment_hash_micros_mean"],
    c["fragment_hash_micros_max"], (" (CPU %.0f us mean, %.0f us max)" % (c["fragment_cpu_micros_mean"], c["fragment_cpu_micros_max"]) if "fragment_cpu_micros_mean" in c else "") + ("; SHA-256 off the mux queue %.0f us mean, %.0f us max" % (c["segment_hash_micros_mean"], c["segment_hash_micros_max"]) if "segment_hash_micros_mean" in c else ""),
    "; live re-signings %d, longest %.1f ms" % (c["live_resignings"], c["live_resign_millis_max"]) if c.get("live_resignings") else ""))'
for s in 10 120; do
  for mode in all partial; do
    for rep in $(seq "$reps"); do
      rm -rf hls m.json && mkdir hls
      if [ $mode = all ]; then seg=(--synthetic all); else seg=(--segments 2-5); fi
      nice -n 10 "$bin" run -q -i in$s.mp4 -o hls/out.m3u8 "${seg[@]}" --preset ultrafast --muxer-opt hls_segment_type=fmp4 --muxer-opt hls_time=2 \
        --c2pa-cert chain.pem --c2pa-key signer.key --metrics-json m.json
      python3 -c "$report" "$(printf '%4d s %-7s run %s hls-fmp4' $s $mode $rep)"
    done
  done
done
nice -n 10 ffmpeg -v error -y -i in120.mp4 -t 20 -c copy in20.mp4
for rep in $(seq "$reps"); do
  rm -rf hls m.json && mkdir hls
  nice -n 10 "$bin" run -q --realtime -i in20.mp4 -o hls/out.m3u8 --synthetic all --preset ultrafast --muxer-opt hls_segment_type=fmp4 --muxer-opt hls_time=2 \
    --c2pa-cert chain.pem --c2pa-key signer.key --metrics-json m.json
  python3 -c "$report" "$(printf '  20 s realtime run %s hls-fmp4' $rep)"
done
