#!/usr/bin/env bash
# Robustness / invisibility / speed sweep for the VideoMark invisible video mark.
#
# Makes short test clips (1280x720 30 fps, 10 s) from ffmpeg generators and photos from a Debian
# package (plasma-workspace-wallpapers): natural image with a slow pan/zoom (boats at a lake),
# talking-head-like (a soft moving "head" on a bokeh photo), fast motion (forest, ~15 px/frame),
# flat cartoon (testsrc2), dark scene (a lake photo at ~15% light), text/screen (scrolling text).
# Each clip goes through `labelcast run --synthetic all` twice, lossless (x264 -qp 0): with the
# video mark and with --no-video-mark (both --no-overlay), so PSNR/SSIM measure the mark alone.
# Every attack is applied with the ffmpeg CLI to the marked clip; then, all through the shipped
# reader (`labelcast detect --json`, nothing from the bench):
#   - the whole attacked file (payload found? video range),
#   - every 2 s and 5 s window (one starting each --step seconds inside the clip), cut by ffmpeg
#     (decoded, timestamps restarting at 0, as a clip cut from a stream would) and piped as
#     rawvideo/nut into `labelcast detect -`: exact-payload and wrong-payload rates;
# plus false detections on the unmarked clips and with the wrong key, and embed/detect speed
# (videomark-bench speed: the one number that is not through labelcast).
# Writes a markdown report (command, date, machine, commit first) to --out (default: stdout);
# the README's video-mark table is copied from that file.
#
# Usage: Benchmarks/videomark-sweep.sh [--work DIR] [--keep] [--attacks "A B ..."] [--clips "C ..."]
#                                      [--unmarked-minutes M] [--bin DIR] [--step S] [--out FILE]
#   --bin DIR   use labelcast and videomark-bench (release builds) from DIR instead of building
#   --step S    seconds between window starts (default 0.5)
#   --size WxH, --seconds N  the clips' size and length (default 1280x720, 10)
#   --bench FILE  videomark-bench for the speed figure (default: the one in --bin)
#   --unmarked-minutes M  also stream M minutes of unmarked generator video (default 0: the
#               long false-positive run is Benchmarks/videomark-falsepos.sh)
# Needs: swift, ffmpeg (libx264, libx265, libvpx), plasma-workspace-wallpapers. ~20 min on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="$(cd "$here/.." && pwd)"
work=""; keep=0; only_attacks=""; only_clips=""; unmarked_minutes=0; bin=""; step=0.5; out=""; size=1280x720; seconds=10; bench_bin=""
command_line="$0 $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --work) work="$2"; shift 2;;
        --keep) keep=1; shift;;
        --attacks) only_attacks="$2"; shift 2;;
        --clips) only_clips="$2"; shift 2;;
        --unmarked-minutes) unmarked_minutes="$2"; shift 2;;
        --bin) bin="$(cd "$2" && pwd)"; shift 2;;
        --step) step="$2"; shift 2;;
        --size) size="$2"; shift 2;;
        --bench) bench_bin="$2"; shift 2;;
        --seconds) seconds="$2"; shift 2;;
        --out) out="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2;;
        *) echo "unknown option $1" >&2; exit 2;;
    esac
done
for tool in swift ffmpeg ffprobe; do
    command -v "$tool" >/dev/null || { echo "videomark-sweep: $tool is required" >&2; exit 2; }
done
bg=/usr/share/wallpapers
photo() { echo "$bg/$1/contents/images/1920x1080.jpg"; }
for p in EveningGlow FallenLeaf Path BytheWater; do
    [ -s "$(photo $p)" ] || { echo "videomark-sweep: photos from plasma-workspace-wallpapers are needed (apt-get install plasma-workspace-wallpapers)" >&2; exit 2; }
done

if [ -z "$bin" ]; then
    echo "building labelcast and videomark-bench (release) ..." >&2
    (cd "$package" && swift build -c release --product labelcast >&2 && swift build -c release --product videomark-bench >&2)
    bin="$(cd "$package" && swift build -c release --show-bin-path)"
fi
labelcast="$bin/labelcast"; bench="${bench_bin:-$bin/videomark-bench}"

if [ -z "$work" ]; then work="$(mktemp -d /tmp/videomark-sweep.XXXXXX)"; fi
mkdir -p "$work"
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
cd "$work"
ff() { nice -n 10 ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
W=${size%x*}; H=${size#*x}; FPS=30; DUR=$seconds
printf 'videomark sweep key 2026, not secret' > key
printf 'some other key entirely, 2026' > wrong.key
ID=0x5EC0FFEE


# ---------------------------------------------------------------------------------------------
# Material.
make_clip() {
    local name=$1
    [ -s "src-$name.mkv" ] && return
    case $name in
        natural)   # slow zoom and pan over a photo
            ff -loop 1 -i "$(photo EveningGlow)" -vf "scale=2560:-2,crop=2560:1440,zoompan=z='1+0.0008*on':x='iw/2-(iw/zoom/2)+on*0.6':y='ih/2-(ih/zoom/2)':d=1:s=${W}x${H}:fps=$FPS,format=yuv420p" \
               -t $DUR -c:v libx264 -qp 0 -preset ultrafast "src-$name.mkv";;
        talking)   # still photo, a soft bright ellipse ("head") swaying and nodding in the middle
            # The head is drawn once (geq is slow), then moved.
            ff -f lavfi -i "color=c=0xC89070:s=360x460" -frames:v 1 -vf "format=yuva420p,geq=lum='lum(X,Y)+12*sin(X/9)*sin(Y/11)':cb='cb(X,Y)':cr='cr(X,Y)':a='255*lt(pow((X-180)/180,2)+pow((Y-230)/230,2),1)'" head.png
            ff -loop 1 -i "$(photo FallenLeaf)" -loop 1 -i head.png -filter_complex \
               "[0:v]scale=${W}:${H}:force_original_aspect_ratio=increase,crop=${W}:${H},boxblur=6[bgd];[1:v]format=yuva420p,gblur=sigma=4[head];[bgd][head]overlay=x='460+30*sin(t*1.3)':y='150+12*sin(t*2.1)',format=yuv420p" \
               -t $DUR -r $FPS -c:v libx264 -qp 0 -preset ultrafast "src-$name.mkv";;
        fast)      # fast pan across a photo (~25 px per frame)
            ff -loop 1 -i "$(photo Path)" -vf "scale=2560:1440,scroll=h=0.006,crop=${W}:${H}:0:360,format=yuv420p" \
               -t $DUR -r $FPS -c:v libx264 -qp 0 -preset ultrafast "src-$name.mkv";;
        cartoon)   # flat colours, hard edges, moving objects
            ff -f lavfi -i "testsrc2=size=${W}x${H}:rate=$FPS" -vf format=yuv420p -t $DUR -c:v libx264 -qp 0 -preset ultrafast "src-$name.mkv";;
        dark)      # a night scene: the photo at ~15% light, slow pan
            ff -loop 1 -i "$(photo BytheWater)" -vf "scale=2560:-2,crop=2560:1440,zoompan=z=1.2:x='on*0.8':y='ih/2-(ih/zoom/2)':d=1:s=${W}x${H}:fps=$FPS,eq=brightness=-0.32:contrast=0.6:gamma=0.8,format=yuv420p" \
               -t $DUR -c:v libx264 -qp 0 -preset ultrafast "src-$name.mkv";;
        text)      # screen content: a licence text scrolling slowly on white
            ff -f lavfi -i "color=c=white:s=${W}x${H}:r=$FPS" -vf "drawtext=textfile=/usr/share/common-licenses/GPL-3:fontcolor=black:fontsize=22:x=40:y=h/3-60*t,format=yuv420p" \
               -t $DUR -c:v libx264 -qp 0 -preset ultrafast "src-$name.mkv";;
    esac
}
clips="natural talking fast cartoon dark text"
[ -n "$only_clips" ] && clips="$only_clips"
for c in $clips; do
    echo "clip $c ..." >&2
    make_clip $c
    # Marked and unmarked, both lossless and without the visible label.
    [ -s "marked-$c.mkv" ] || nice -n 10 "$labelcast" run -i "src-$c.mkv" -o "marked-$c.mkv" --synthetic all --no-overlay --key-file key --payload-id $ID \
        --video-codec libx264 --crf 0 --preset ultrafast -q
    [ -s "bare-$c.mkv" ] || nice -n 10 "$labelcast" run -i "src-$c.mkv" -o "bare-$c.mkv" --synthetic all --no-overlay --key-file key --no-video-mark \
        --video-codec libx264 --crf 0 --preset ultrafast -q
done

# ---------------------------------------------------------------------------------------------
# Attacks: name | ffmpeg output options (video filter and codec).
mild="-c:v libx264 -crf 16 -preset ultrafast"
attack_args() {
    case $1 in
        none)        echo "-c:v copy";;
        h264-23)     echo "-c:v libx264 -crf 23 -preset faster";;
        h264-30)     echo "-c:v libx264 -crf 30 -preset faster";;
        h264-35)     echo "-c:v libx264 -crf 35 -preset faster";;
        hevc-30)     echo "-c:v libx265 -crf 30 -preset ultrafast -x265-params log-level=error";;
        vp9-40)      echo "-c:v libvpx-vp9 -crf 40 -b:v 0 -deadline realtime -cpu-used 8 -row-mt 1";;
        down480)     echo "-vf scale=-2:480,scale=$W:$H $mild";;
        down360)     echo "-vf scale=-2:360,scale=$W:$H $mild";;
        down360-keep) echo "-vf scale=-2:360 $mild";;
        fps25)       echo "-vf fps=25 $mild";;
        fps24)       echo "-vf fps=24 $mild";;
        bright+15)   echo "-vf eq=brightness=0.06:contrast=1.0,lutyuv=y=val*1.15 $mild";;
        bright-15)   echo "-vf lutyuv=y=val*0.85 $mild";;
        contrast0.8) echo "-vf eq=contrast=0.8 $mild";;
        gamma1.2)    echo "-vf eq=gamma=1.2 $mild";;
        crop5-rescale) echo "-vf crop=iw*0.9:ih*0.9,scale=$W:$H $mild";;
        crop5)       echo "-vf crop=iw*0.9:ih*0.9 $mild";;
        pad)         echo "-vf pad=iw:ih*4/3:0:(oh-ih)/2,scale=$W:$H $mild";;
        platform)    echo "platform";;
    esac
}
attacks="none h264-23 h264-30 h264-35 hevc-30 vp9-40 down480 down360 down360-keep fps25 fps24 bright+15 bright-15 contrast0.8 gamma1.2 crop5-rescale crop5 pad platform"
[ -n "$only_attacks" ] && attacks="$only_attacks"

attack() {  # clip attack -> attacked file name
    local c=$1 a=$2 out="att-$1-$2.mkv"
    [ -s "$out" ] && { echo "$out"; return; }
    if [ "$a" = platform ]; then
        ff -i "marked-$c.mkv" -vf scale=-2:720 -c:v libx264 -crf 28 -preset medium -c:a aac "p1-$c.mp4"
        ff -i "p1-$c.mp4" -vf scale=-2:480 -c:v libx264 -crf 30 -preset medium -c:a aac "$out"
    else
        # shellcheck disable=SC2046
        ff -i "marked-$c.mkv" $(attack_args "$a") -an "$out"
    fi
    echo "$out"
}

size_of() { ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$1"; }
rate_of() { ffprobe -v error -select_streams v:0 -show_entries stream=avg_frame_rate -of csv=p=0 "$1" | awk -F/ '{printf "%.6f", $1/($2?$2:1)}'; }
duration_of() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }
# `labelcast detect --json` output on stdin -> "EXACT OTHER" (1/0 each): a video segment with
# payload $ID, a video segment with any other payload; "0 0" when nothing (or no JSON) came.
judge='import json,sys
want=int(sys.argv[1],16)
try: d=json.load(sys.stdin)
except Exception: print("0 0"); sys.exit()
v=[int(s["payload"],16) for s in d["segments"] if s.get("modality")=="video"]
print("%d %d" % (want in v, any(p!=want for p in v)))'
# Whole-file result as a table cell.
whole_cell='import json,sys
try: d=json.load(sys.stdin)
except Exception: print("error"); sys.exit()
v=[s for s in d["segments"] if s.get("modality")=="video"]
print(", ".join("%s %.2f-%.2f z%.1f" % (s["payload"], s["start"], s["end"], s["confidence"]) for s in v) or "none (video sync z %s)" % d.get("video_sync_z"))'
detect_json() {  # file key -> labelcast detect --json output
    nice -n 10 "$labelcast" detect "$1" --key-file "$2" --json 2>/dev/null || true
}
windows() {  # file key -> " w2=E/N wrong2=X w5=E/N wrong5=X": every window through labelcast detect
    local f=$1 k=$2 d line="" len n e x s r
    d=$(duration_of "$f")
    for len in 2 5; do
        n=0; e=0; x=0; s=0
        while awk -v s="$s" -v l=$len -v d="$d" 'BEGIN{exit !(s+l <= d+1e-6)}'; do
            r=$(ff -ss "$s" -i "$f" -t $len -map 0:v:0 -c:v rawvideo -f nut - \
                | nice -n 10 "$labelcast" detect - --key-file "$k" --json 2>/dev/null | python3 -c "$judge" $ID) || true
            n=$((n + 1)); [ "${r% *}" = 1 ] && e=$((e + 1)); [ "${r#* }" = 1 ] && x=$((x + 1))
            s=$(awk -v s="$s" -v t="$step" 'BEGIN{print s+t}')
        done
        line+=" w$len=$e/$n wrong$len=$x"
    done
    echo "$line"
}
field() { echo "$1" | sed -n "s/.* $2=\([0-9/]*\).*/\1/p"; }

started=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "| clip | attack | labelcast detect (whole file) | 2 s windows exact | 5 s windows exact | wrong payloads (2 s + 5 s) |" > table.md
echo "| --- | --- | --- | --- | --- | --- |" >> table.md
: > results.txt
pct() { awk -v x="$1" 'BEGIN{split(x,p,"/"); if (p[2]>0) printf "%.0f%% (%s)", 100*p[1]/p[2], x; else print "-"}'; }
for c in $clips; do
    for a in $attacks; do
        echo "attack $c $a ..." >&2
        f=$(attack "$c" "$a")
        whole=$(detect_json "$f" key | python3 -c "$whole_cell")
        line=$(windows "$f" key)
        w2=$(field "$line" w2); w5=$(field "$line" w5); wrong2=$(field "$line" wrong2); wrong5=$(field "$line" wrong5)
        echo "$c $a $w2 $w5 $wrong2 $wrong5" >> results.txt
        echo "| $c | $a | $whole | $(pct "$w2") | $(pct "$w5") | $((wrong2 + wrong5)) |" >> table.md
        [ "$a" = none ] || [ "$keep" = 1 ] || rm -f "$f" "p1-$c.mp4"
    done
done

# Per attack over all clips: mean rate, and the worst clip with its rate.
summary=$(awk '{ split($3,a,"/"); split($4,b,"/"); n2[$2]+=a[2]; k2[$2]+=a[1]; n5[$2]+=b[2]; k5[$2]+=b[1]; bad[$2]+=$5+$6;
                 m2 = a[2] ? a[1]/a[2] : 0; if (!($2 in w2) || m2 < w2[$2]) { w2[$2]=m2; wc2[$2]=$1 }
                 m5 = b[2] ? b[1]/b[2] : 0; if (!($2 in w5) || m5 < w5[$2]) { w5[$2]=m5; wc5[$2]=$1 }
                 if (!($2 in order)) { order[$2]=++n; names[n]=$2 } }
    END { for (i=1;i<=n;i++) { x=names[i]; printf "| %s | %.1f%% | %.0f%% (%s) | %.1f%% | %.0f%% (%s) | %d |\n", x,
          100*k2[x]/n2[x], 100*w2[x], wc2[x], 100*k5[x]/n5[x], 100*w5[x], wc5[x], bad[x] } }' results.txt)
# Per clip over all attacks.
perclip=$(awk '{ split($3,a,"/"); split($4,b,"/"); n2[$1]+=a[2]; k2[$1]+=a[1]; n5[$1]+=b[2]; k5[$1]+=b[1];
                 if (!($1 in order)) { order[$1]=++n; names[n]=$1 } }
    END { for (i=1;i<=n;i++) { x=names[i]; printf "| %s | %.1f%% | %.1f%% |\n", x, 100*k2[x]/n2[x], 100*k5[x]/n5[x] } }' results.txt)

# ---------------------------------------------------------------------------------------------
# Invisibility: marked vs unmarked (both lossless, both through labelcast run).
inv="| clip | luma PSNR mean (dB) | worst frame (dB) | SSIM Y | SSIM all |"$'\n'"| --- | --- | --- | --- | --- |"
for c in $clips; do
    psnr=$(ff -loglevel info -i "marked-$c.mkv" -i "bare-$c.mkv" -lavfi "[0:v][1:v]psnr=stats_file=psnr-$c.log" -f null - 2>&1 | sed -n 's/.* y:\([0-9.inf]*\).*/\1/p' | tail -1)
    w=$(awk '{for(i=1;i<=NF;i++) if ($i ~ /^psnr_y:/) {split($i,p,":"); if (min=="" || p[2]+0<min+0) min=p[2]}} END{print min}' "psnr-$c.log")
    ssim=$(ff -loglevel info -i "marked-$c.mkv" -i "bare-$c.mkv" -lavfi "[0:v][1:v]ssim" -f null - 2>&1 | sed -n 's/.* Y:\([0-9.]*\).* All:\([0-9.]*\).*/\1 \2/p' | tail -1)
    inv+=$'\n'"| $c | $psnr | $w | ${ssim% *} | ${ssim#* } |"
done

# ---------------------------------------------------------------------------------------------
# False detections through labelcast detect: the marked clips read with the wrong key, the
# unmarked clips with the right one (whole file and every window).
falsepos="| clip | wrong key: whole file | wrong key: windows with a payload | unmarked: whole file | unmarked: windows with a payload |"$'\n'"| --- | --- | --- | --- | --- |"
for c in $clips; do
    wk=$(detect_json "marked-$c.mkv" wrong.key | python3 -c "$whole_cell")
    wl=$(windows "marked-$c.mkv" wrong.key)
    um=$(detect_json "bare-$c.mkv" key | python3 -c "$whole_cell")
    ul=$(windows "bare-$c.mkv" key)
    # With the wrong key or no mark, any payload at all is false ($ID included).
    wn=$(( $(field "$wl" wrong2) + $(field "$wl" wrong5) + $(field "$wl" w2 | cut -d/ -f1) + $(field "$wl" w5 | cut -d/ -f1) ))
    un=$(( $(field "$ul" wrong2) + $(field "$ul" wrong5) + $(field "$ul" w2 | cut -d/ -f1) + $(field "$ul" w5 | cut -d/ -f1) ))
    tot=$(( $(field "$wl" w2 | cut -d/ -f2) + $(field "$wl" w5 | cut -d/ -f2) ))
    falsepos+=$'\n'"| $c | $wk | $wn of $tot | $um | $un of $tot |"
done
ustream=""
if [ "$unmarked_minutes" != 0 ]; then
    ustream=$("$here/videomark-falsepos.sh" --bin "$bin" --minutes "$unmarked_minutes" --work "$work/fp" 2>/dev/null | tail -n +1)
fi

speed=$(nice -n 10 "$bench" speed --frames 300)

# A picture pair for the README: the marked frame at 5 s of the natural clip and 10x its
# difference to the unmarked one (grey = unchanged).
if [ -s marked-natural.mkv ]; then
    ff -ss 5 -i marked-natural.mkv -ss 5 -i bare-natural.mkv -filter_complex \
       "[0:v]format=gray,split[m][m2];[1:v]format=gray[b];[m2][b]blend=all_expr='128+10*(A-B)'[d];[m][d]hstack,scale=1280:-2" \
       -frames:v 1 -q:v 4 "$here/videomark-diff.jpg" || true
fi

commit=$(git -C "$package" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$package" diff --quiet HEAD -- Sources Benchmarks 2>/dev/null || commit+=" (+ uncommitted changes)"
report() {
cat <<REPORT
## Video mark sweep (\`Benchmarks/videomark-sweep.sh\`)

- Command: \`$command_line\`
- Date: $started to $(date -u '+%H:%M UTC')
- Machine: $(uname -srm), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), shared with other jobs; $(ffmpeg -version | head -1 | cut -d' ' -f1-3)
- Commit: $commit (labelcast from $bin, videomark-bench $bench)

Clips: $(for c in $clips; do printf '%s ' $c; done)(${W}x${H}, 30 fps, $DUR s each), every frame marked by
\`labelcast run --synthetic all --no-overlay\` (lossless x264), attacked with the ffmpeg CLI, read
with \`labelcast detect --json\`. Windows start every $step s inside the clip; each is cut by ffmpeg
(timestamps from 0) and piped into its own \`labelcast detect -\`. "exact" = the 32-bit payload read and
its HMAC tag verified; "wrong payloads" = windows that reported any other payload.

### Per attack (all clips): mean, and the worst clip

| attack | 2 s windows exact | worst clip (2 s) | 5 s windows exact | worst clip (5 s) | wrong payloads |
| --- | --- | --- | --- | --- | --- |
$summary

### Per clip (all attacks)

| clip | 2 s windows exact | 5 s windows exact |
| --- | --- | --- |
$perclip

### Invisibility (marked vs unmarked, through \`labelcast run\`)

$inv

### False detections

$falsepos
$( [ -n "$ustream" ] && printf '\nUnmarked generator stream:\n\n%s\n' "$ustream" )

### Speed (one core, CPU time, \`videomark-bench speed --frames 300\`)

\`\`\`
$speed
\`\`\`

### Every clip x attack

$(cat table.md)
REPORT
}
if [ -n "$out" ]; then report > "$out"; echo "videomark-sweep: wrote $out" >&2; else report; fi
