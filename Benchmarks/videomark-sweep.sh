#!/usr/bin/env bash
# Robustness / invisibility / speed sweep for the VideoMark invisible video mark.
#
# Makes short test clips (1280x720 30 fps, 10 s) from ffmpeg generators and photos from a Debian
# package (plasma-workspace-wallpapers): natural image with a slow pan/zoom (boats at a lake),
# talking-head-like (a soft moving "head" on a bokeh photo), fast motion (forest, ~15 px/frame),
# flat cartoon (testsrc2), dark scene (a lake photo at ~15% light), text/screen (scrolling text).
# Each clip goes through `labelcast run --synthetic all` twice, lossless (x264 -qp 0): with the
# video mark and with --no-video-mark (both --no-overlay), so PSNR/SSIM measure the mark alone.
# Every attack is applied with the ffmpeg CLI to the marked clip; then
#   - `labelcast detect --json` on the whole attacked file (payload found? video range),
#   - videomark-bench on the attacked frames: every 2 s and 5 s window (starting each 0.5 s)
#     fed to a fresh detector: exact-payload rate;
# plus false detections on unmarked clips and with the wrong key, and embed/detect speed.
# Prints a markdown report on stdout.
#
# Usage: Benchmarks/videomark-sweep.sh [--work DIR] [--keep] [--attacks "A B ..."] [--clips "C ..."]
#                                      [--unmarked-minutes M] [--bin DIR]
#   --bin DIR   use labelcast and videomark-bench (release builds) from DIR instead of building
# Needs: swift, ffmpeg (libx264, libx265, libvpx), plasma-workspace-wallpapers. ~20 min on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="$(cd "$here/.." && pwd)"
work=""; keep=0; only_attacks=""; only_clips=""; unmarked_minutes=5; bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --work) work="$2"; shift 2;;
        --keep) keep=1; shift;;
        --attacks) only_attacks="$2"; shift 2;;
        --clips) only_clips="$2"; shift 2;;
        --unmarked-minutes) unmarked_minutes="$2"; shift 2;;
        --bin) bin="$(cd "$2" && pwd)"; shift 2;;
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
labelcast="$bin/labelcast"; bench="$bin/videomark-bench"

if [ -z "$work" ]; then work="$(mktemp -d /tmp/videomark-sweep.XXXXXX)"; fi
mkdir -p "$work"
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
cd "$work"
ff() { nice -n 10 ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
W=1280; H=720; FPS=30; DUR=10
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
windows() {  # file key -> bench line
    local f=$1 k=$2 wh w h r
    wh=$(size_of "$f"); w=${wh%,*}; h=${wh#*,}; r=$(rate_of "$f")
    ff -i "$f" -f rawvideo -pix_fmt gray - | nice -n 10 "$bench" windows --width "$w" --height "$h" --fps "$r" --key-file "$k" --payload-id $ID
}

echo "| clip | attack | labelcast detect (whole file) | 2 s windows exact | 5 s windows exact |" > table.md
echo "| --- | --- | --- | --- | --- |" >> table.md
: > results.txt
for c in $clips; do
    for a in $attacks; do
        echo "attack $c $a ..." >&2
        f=$(attack "$c" "$a")
        det=$("$labelcast" detect "$f" --key-file key --json 2>/dev/null || true)
        whole=$(printf '%s' "$det" | python3 -c 'import json,sys
try: d=json.load(sys.stdin)
except Exception: print("error"); sys.exit()
v=[s for s in d["segments"] if s["modality"]=="video"]
print(", ".join("%s %.2f-%.2f z%.1f" % (s["payload"], s["start"], s["end"], s["confidence"]) for s in v) or "none (video sync z %s)" % d.get("video_sync_z"))')
        line=$(windows "$f" key)
        w2=$(echo "$line" | sed -n 's/.* w2=\([0-9]*\/[0-9]*\).*/\1/p'); w5=$(echo "$line" | sed -n 's/.* w5=\([0-9]*\/[0-9]*\).*/\1/p')
        wrong2=$(echo "$line" | sed -n 's/.*wrong2=\([0-9]*\).*/\1/p'); wrong5=$(echo "$line" | sed -n 's/.*wrong5=\([0-9]*\).*/\1/p')
        echo "$c $a $w2 $w5 $wrong2 $wrong5" >> results.txt
        pct() { awk -v x="$1" 'BEGIN{split(x,p,"/"); if (p[2]>0) printf "%.0f%% (%s)", 100*p[1]/p[2], x; else print "-"}'; }
        echo "| $c | $a | $whole | $(pct "$w2") | $(pct "$w5") |" >> table.md
        [ "$a" = none ] || [ "$keep" = 1 ] || rm -f "$f" "p1-$c.mp4"
    done
done

# Per attack over all clips.
summary=$(awk '{ split($3,a,"/"); split($4,b,"/"); n2[$2]+=a[2]; k2[$2]+=a[1]; n5[$2]+=b[2]; k5[$2]+=b[1];
                 m2 = a[2] ? a[1]/a[2] : 0; if (!($2 in w2) || m2 < w2[$2]) { w2[$2]=m2; wc2[$2]=$1 }
                 m5 = b[2] ? b[1]/b[2] : 0; if (!($2 in w5) || m5 < w5[$2]) { w5[$2]=m5; wc5[$2]=$1 }
                 if (!($2 in order)) { order[$2]=++n; names[n]=$2 } }
    END { for (i=1;i<=n;i++) { x=names[i]; printf "| %s | %.1f%% | %.0f%% (%s) | %.1f%% | %.0f%% (%s) |\n", x,
          100*k2[x]/n2[x], 100*w2[x], wc2[x], 100*k5[x]/n5[x], 100*w5[x], wc5[x] } }' results.txt)

# ---------------------------------------------------------------------------------------------
# Invisibility: marked vs unmarked (both lossless, both through labelcast run).
inv="| clip | luma PSNR (dB) | SSIM Y | SSIM all |"$'\n'"| --- | --- | --- | --- |"
for c in $clips; do
    psnr=$(ff -i "marked-$c.mkv" -i "bare-$c.mkv" -lavfi "[0:v][1:v]psnr" -f null - 2>&1 | sed -n 's/.* y:\([0-9.inf]*\).*/\1/p' | tail -1)
    ssim=$(ff -i "marked-$c.mkv" -i "bare-$c.mkv" -lavfi "[0:v][1:v]ssim" -f null - 2>&1 | sed -n 's/.* Y:\([0-9.]*\).* All:\([0-9.]*\).*/\1 \2/p' | tail -1)
    inv+=$'\n'"| $c | $psnr | ${ssim% *} | ${ssim#* } |"
done
# Worst frame PSNR per clip.
worst="| clip | worst-frame luma PSNR (dB) |"$'\n'"| --- | --- |"
for c in $clips; do
    ff -i "marked-$c.mkv" -i "bare-$c.mkv" -lavfi "[0:v][1:v]psnr=stats_file=psnr-$c.log" -f null - >/dev/null 2>&1 || true
    w=$(awk '{for(i=1;i<=NF;i++) if ($i ~ /^psnr_y:/) {split($i,p,":"); if (min=="" || p[2]<min) min=p[2]}} END{print min}' "psnr-$c.log")
    worst+=$'\n'"| $c | $w |"
done

# ---------------------------------------------------------------------------------------------
# False detections: wrong key on every marked clip; unmarked clips; a stream of unmarked
# generator video (varied content, 640x360 to make it cheap: the detector is size-independent).
wrongkey=""
for c in $clips; do
    l=$(windows "marked-$c.mkv" wrong.key); wrongkey+="$c: ${l#*whole=}; "
done
unmarked=""
for c in $clips; do
    l=$(windows "bare-$c.mkv" key); unmarked+="$c: ${l#*whole=}; "
done
per=$(awk -v m=$unmarked_minutes 'BEGIN{printf "%d", m*60/6}')
gens=("testsrc2=size=640x360:rate=30" "mandelbrot=size=640x360:rate=30:maxiter=150" "cellauto=s=640x360:rate=30:rule=110"
      "life=s=640x360:rate=30:mold=10:ratio=0.3" "gradients=s=640x360:rate=30:speed=0.05" "smptehdbars=s=640x360:rate=30")
ustream=""
for g in "${gens[@]}"; do
    l=$(ff -f lavfi -i "$g" -t $per -vf "noise=alls=6:allf=t,format=gray" -f rawvideo - | nice -n 10 "$bench" false --width 640 --height 360 --fps 30 --key-file key)
    ustream+="${g%%=*}: $l; "
done

speed=$(nice -n 10 "$bench" speed --frames 300)

# A picture pair for the README: the marked frame at 5 s of the natural clip and 10x its
# difference to the unmarked one (grey = unchanged).
if [ -s marked-natural.mkv ]; then
    ff -ss 5 -i marked-natural.mkv -ss 5 -i bare-natural.mkv -filter_complex \
       "[0:v]format=gray,split[m][m2];[1:v]format=gray[b];[m2][b]blend=all_expr='128+10*(A-B)'[d];[m][d]hstack,scale=1280:-2" \
       -frames:v 1 -q:v 4 "$here/videomark-diff.jpg" || true
fi

cat <<REPORT
## Video mark sweep (\`Benchmarks/videomark-sweep.sh\`, $(date -u +%Y-%m-%d))

Clips: $(for c in $clips; do printf '%s ' $c; done)(1280x720, 30 fps, 10 s each, all frames marked with
\`labelcast run --synthetic all --no-overlay\`, lossless). Windows start every 0.5 s inside the clip;
each is fed to a fresh detector. "exact" = the 32-bit payload read and verified.

### Per attack (all clips)

| attack | 2 s windows exact | worst clip (2 s) | 5 s windows exact | worst clip (5 s) |
| --- | --- | --- | --- | --- |
$summary

### Invisibility (marked vs unmarked, through \`labelcast run\`)

$inv

$worst

### False detections

- Wrong key on the marked clips: $wrongkey
- Unmarked clips (right key): $unmarked
- Unmarked generator stream, $unmarked_minutes min (+ grain): $ustream

### Speed (one core, \`videomark-bench speed\`)

\`\`\`
$speed
\`\`\`

### Every clip x attack

$(cat table.md)
REPORT
