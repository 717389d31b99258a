#!/usr/bin/env bash
# Spot check of the shipped path for the watermark (issue 23): `labelcast run` marks 20 s of
# speech and music into AAC (.m4a), the `ffmpeg` CLI attacks the result, `labelcast detect`
# reads the whole file and five 3 s excerpts (cut by ffmpeg). Not the full sweep: two clips,
# five windows each. Usage: Benchmarks/watermark-cli-spotcheck.sh LABELCAST SPEECH.wav MUSIC.wav
#   [ATTACK ...] (none speedF tempoF pitchrbF opus16 aac32; F a factor such as 1.02).
set -euo pipefail
L="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; speech="$2"; music="$3"; shift 3
attacks="${*:-none speed1.02 speed0.95 tempo1.02 pitchrb1.02 pitchrb0.95 opus16 aac32}"
work="$(mktemp -d /tmp/watermark-cli.XXXXXX)"; trap 'rm -rf "$work"' EXIT
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
printf 'cli test key 0123456789abcdef' > "$work/k.bin"
for c in speech music; do
    src=$([ $c = speech ] && echo "$speech" || echo "$music")
    ff -i "$src" -t 20 -ar 48000 -ac 2 "$work/$c.wav"
    nice -n 10 "$L" run -i "$work/$c.wav" -o "$work/$c.m.m4a" --synthetic all --key-file "$work/k.bin" --payload-id 0x2A --quiet
done
cd "$work"
for a in $attacks; do
    line="$a"
    for c in speech music; do
        case $a in
            none) af=anull;; speed*) af="asetrate=48000*${a#speed},aresample=48000";;
            tempo*) af="atempo=${a#tempo}";; pitchrb*) af="rubberband=pitch=${a#pitchrb}";; *) af=anull;;
        esac
        case $a in
            opus16) ff -i $c.m.m4a -c:a libopus -b:a 16k -application voip $c.$a.ogg; in=$c.$a.ogg;;
            aac32) ff -i $c.m.m4a -c:a aac -b:a 32k $c.$a.m4a; in=$c.$a.m4a;;
            *) ff -i $c.m.m4a -af "$af" -c:a pcm_s16le $c.$a.wav; in=$c.$a.wav;;
        esac
        whole=$(nice -n 10 "$L" detect $in --key-file k.bin 2>/dev/null | grep -c 0x0000002A || true)
        ok=0
        for s in 1 4 7 10 13; do
            ff -ss $s -t 3 -i $in -c:a pcm_s16le ex.wav
            if nice -n 10 "$L" detect ex.wav --key-file k.bin 2>/dev/null | grep -q 0x0000002A; then ok=$((ok + 1)); fi
        done
        line="$line $c: whole-file ranges with the payload=$whole, 3 s excerpts=$ok/5"
    done
    echo "$line"
done
