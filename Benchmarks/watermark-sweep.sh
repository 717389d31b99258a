#!/usr/bin/env bash
# Robustness sweep for the AudioMark watermark.
#
# Generates test material (espeak-ng speech in three languages, synthesized music, noise, a
# clip with digital silence), marks it with audiomark-bench, applies every attack with the
# ffmpeg CLI, then cuts random windows inside the marked range and asks a fresh detector for
# the payload (3 s windows) and for presence (2 s windows), and measures presence in 2 s after
# a pause in a stream that has already yielded its payload. Also measures false positives on
# 30+ minutes of unmarked material (cold, and after a read payload) and with the wrong key, a
# switch to another id on the same grid, the mark's SNR, the difference signal's peak at the
# segment edges, and speed. Prints a markdown report on stdout.
#
# Usage: Benchmarks/watermark-sweep.sh [--package DIR] [--windows N] [--unmarked-minutes M]
#                                      [--work DIR] [--keep] [--reuse] [--attacks "A B ..."]
#   --package DIR   Swift package to build audiomark-bench in (default: this repository)
#   --windows N     random windows per clip and attack (default 100)
#   --unmarked-minutes M   minutes of unmarked material for the false-positive run (default 32)
#   --work DIR      work directory (default: a fresh temporary one); --keep keeps it
#   --reuse         with --work: keep the material, marked clips and unmarked audio already
#                   there (only valid while the embedder is unchanged) instead of regenerating
#   --attacks LIST  only these attacks (for quick iterations; the report covers those only)
# Needs: swift, ffmpeg (with libmp3lame), espeak-ng. Takes ~10-15 minutes on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="$(cd "$here/.." && pwd)"
windows=100
unmarked_minutes=32
work=""
keep=0
reuse=0
only_attacks=""
while [ $# -gt 0 ]; do
    case "$1" in
        --package) package="$(cd "$2" && pwd)"; shift 2;;
        --windows) windows="$2"; shift 2;;
        --unmarked-minutes) unmarked_minutes="$2"; shift 2;;
        --work) work="$2"; shift 2;;
        --keep) keep=1; shift;;
        --reuse) reuse=1; shift;;
        --attacks) only_attacks="$2"; shift 2;;
        *) echo "unknown option $1" >&2; exit 2;;
    esac
done
for tool in swift ffmpeg espeak-ng; do
    command -v "$tool" >/dev/null || { echo "watermark-sweep: $tool is required" >&2; exit 2; }
done

echo "building audiomark-bench (release) in $package ..." >&2
(cd "$package" && swift build -c release --product audiomark-bench >&2)
bench="$(cd "$package" && swift build -c release --show-bin-path)/audiomark-bench"

if [ -z "$work" ]; then work="$(mktemp -d /tmp/watermark-sweep.XXXXXX)"; fi
mkdir -p "$work"
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
cd "$work"
rate=48000
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# ---------------------------------------------------------------------------------------------
# Keys: the sweep's own key, and a wrong one.
printf 'watermark-sweep key: 7f3a9c1e55d2' > key.bin
printf 'watermark-sweep WRONG key 0b4e' > wrong.bin

# ---------------------------------------------------------------------------------------------
# Material (48 kHz stereo float32, ~30 s each).
have() { [ "$reuse" = 1 ] && [ -s "$1" ]; }   # --reuse: keep what an earlier run made
echo "generating material ..." >&2
speech() { # name voice text
    have "$1.f32" && return
    espeak-ng -v "$2" -w "$1.wav" "$3"
    # Loop the utterance to fill 30 s (its natural pauses stay in).
    ff -stream_loop -1 -i "$1.wav" -t 30 -ar $rate -ac 2 -f f32le "$1.f32"
}
speech speech_en en "Artificial intelligence generated this voice for a test of the watermark. \
The quick brown fox jumps over the lazy dog, while the lazy dog keeps on sleeping in the sun. \
Numbers like four hundred and twelve, or seventy three point five, are read out clearly. \
The mark must survive compression, resampling, noise, a change of volume and a cut anywhere. \
Nobody should hear it, and nobody without the key should be able to read it or forge it."
speech speech_de de "Dieser Text wurde von einer künstlichen Intelligenz erzeugt und dient als Prüfung. \
Das Wasserzeichen soll Kompression, Rauschen und Lautstärkeänderungen überstehen. \
Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich, bis die Sonne untergeht. \
Niemand soll es hören, und ohne den Schlüssel soll es niemand lesen oder fälschen können."
speech speech_zh zh "这段语音是由人工智能生成的，用来测试音频水印。水印必须在压缩、重采样、加噪声和音量变化之后仍然可以检测。\
没有密钥的人既不能读取水印，也不能伪造水印。今天天气很好，我们一起去公园散步，然后回家吃饭。\
一二三四五六七八九十，数字也要读得清清楚楚。"

# Music-like: decaying harmonic chords stepping every 0.5 s, noise-burst drums, a bass drum,
# a slow sweep; the second clip is a faster arpeggio with hi-hats and a square-ish bass.
music_chords="st(1,110*pow(2,mod(floor(t*2)*5,12)/12));st(2,mod(t,0.5));\
0.7*(exp(-3*ld(2))*(0.10*sin(2*PI*ld(1)*t)+0.05*sin(4*PI*ld(1)*t)+0.03*sin(6*PI*ld(1)*t)+0.02*sin(8*PI*ld(1)*t)\
+0.08*sin(2*PI*1.25*ld(1)*t)+0.03*sin(4*PI*1.25*ld(1)*t)+0.08*sin(2*PI*1.5*ld(1)*t)+0.03*sin(4*PI*1.5*ld(1)*t)\
+0.02*sin(8*PI*1.5*ld(1)*t))+0.25*(random(0)*2-1)*exp(-40*mod(t,0.25))+0.4*sin(2*PI*55*t)*exp(-20*mod(t+0.25,0.5))\
+0.04*sin(2*PI*(300*mod(t,10)+285*mod(t,10)*mod(t,10))))"
music_arp="st(1,220*pow(2,mod(floor(t*8)*7,24)/12));st(2,mod(t,0.125));st(3,55*pow(2,mod(floor(t/2)*3,7)/12));\
0.6*(exp(-8*ld(2))*(0.12*sin(2*PI*ld(1)*t)+0.06*sin(6*PI*ld(1)*t)+0.04*sin(10*PI*ld(1)*t)+0.03*sin(14*PI*ld(1)*t))\
+0.15*(random(0)*2-1)*exp(-90*mod(t,0.125))+0.18*(gt(sin(2*PI*ld(3)*t),0)*2-1)*(0.6+0.4*sin(2*PI*0.25*t)))"
have music_chords.f32 || ff -f lavfi -i "aevalsrc=exprs='$music_chords':s=$rate:d=30" -ac 2 -f f32le music_chords.f32
have music_arp.f32 || ff -f lavfi -i "aevalsrc=exprs='$music_arp':s=$rate:d=30" -ac 2 -f f32le music_arp.f32
# Pink noise, slowly swelling.
have noise_pink.f32 || ff -f lavfi -i "anoisesrc=c=pink:r=$rate:a=0.2:d=30:seed=42,volume='0.5+0.4*sin(2*PI*0.2*t)':eval=frame" \
    -ac 2 -f f32le noise_pink.f32
# Music with 4 s of digital silence in the middle: the mark must leave it exactly zero.
have music_gap.f32 || ff -f lavfi -i "aevalsrc=exprs='if(between(t,13,17),0,$music_arp)':s=$rate:d=30" -ac 2 -f f32le music_gap.f32
clips="speech_en speech_de speech_zh music_chords music_arp noise_pink music_gap"
# music_gap is for the silence and quality checks only: a window inside its 4 s of digital
# silence has nothing the mark could ride on (by design), so it is not in the window statistics.
window_clips="speech_en speech_de speech_zh music_chords music_arp noise_pink"

# ---------------------------------------------------------------------------------------------
# Embed: the marked segment is 1.0 s .. 29.0 s (so both edges are exercised), payload id = N.
mark_start=1.0; mark_end=29.0
embedded=1
for c in $clips; do have "$c.marked.f32" || embedded=0; done
have ids.txt && have quality.txt || embedded=0
if [ "$embedded" = 0 ]; then
    echo "embedding ..." >&2
    id=0
    : > ids.txt
    : > quality.txt
    for c in $clips; do
        id=$((id + 1000003))
        echo "$c $id" >> ids.txt
        q=$("$bench" embed "$c.f32" "$c.marked.f32" --rate $rate --channels 2 --id $id --key-file key.bin \
            --start $mark_start --end $mark_end)
        echo "$c $q" >> quality.txt
    done
fi

# ---------------------------------------------------------------------------------------------
# Attacks. Each writes NAME.ATTACK.f32 and records the rate/channels/time shift to read it with.
cut_frames=31337   # "cut at an arbitrary sample": drop this many frames from the start
attacks="none aac128 aac64 mp3_128 resample_44k1 volume_-10dB mono_downmix noise_20dB cut \
speed_1.02 speed_0.98 speed_1.05 tempo_1.02 tempo_0.98 tempo_1.05 pitch_1.02 pitch_0.98 pitch_1.05 opus16 aac32 echo"
[ -z "$only_attacks" ] || attacks="$only_attacks"
attack() { # clip attack -> echoes "rate channels shift_seconds [time_scale]"
    local in="$1.marked.f32" out="$1.$2.f32"
    case "$2" in
        none) cp "$in" "$out"; echo "$rate 2 0";;
        aac128|aac64)
            ff -f f32le -ar $rate -ac 2 -i "$in" -c:a aac -b:a "${2#aac}k" "$1.$2.m4a"
            ff -i "$1.$2.m4a" -f f32le -ar $rate -ac 2 "$out"; echo "$rate 2 0";;
        mp3_128)
            ff -f f32le -ar $rate -ac 2 -i "$in" -c:a libmp3lame -b:a 128k "$1.$2.mp3"
            ff -i "$1.$2.mp3" -f f32le -ar $rate -ac 2 "$out"; echo "$rate 2 0";;
        resample_44k1) ff -f f32le -ar $rate -ac 2 -i "$in" -ar 44100 -f f32le "$out"; echo "44100 2 0";;
        volume_-10dB) ff -f f32le -ar $rate -ac 2 -i "$in" -af volume=-10dB -f f32le "$out"; echo "$rate 2 0";;
        mono_downmix) ff -f f32le -ar $rate -ac 2 -i "$in" -ac 1 -f f32le "$out"; echo "$rate 1 0";;
        noise_20dB) "$bench" addnoise "$in" "$out" --snr 20 --channels 2 --seed 7; echo "$rate 2 0";;
        # Issue 23: speed (asetrate: pitch and tempo), tempo (atempo, WSOLA), pitch (rubberband),
        # a VoIP codec, low-rate AAC, echo. The time scale (4th field) moves the marked range.
        speed_*) f=${2#speed_}; ff -f f32le -ar $rate -ac 2 -i "$in" -af "asetrate=$rate*$f,aresample=$rate" -f f32le "$out"
                 echo "$rate 2 0 $(awk -v f=$f 'BEGIN{printf "%.6f", 1/f}')";;
        tempo_*) f=${2#tempo_}; ff -f f32le -ar $rate -ac 2 -i "$in" -af "atempo=$f" -f f32le "$out"
                 echo "$rate 2 0 $(awk -v f=$f 'BEGIN{printf "%.6f", 1/f}')";;
        pitch_*) ff -f f32le -ar $rate -ac 2 -i "$in" -af "rubberband=pitch=${2#pitch_}" -f f32le "$out"; echo "$rate 2 0 1";;
        opus16) ff -f f32le -ar $rate -ac 2 -i "$in" -c:a libopus -b:a 16k -application voip "$1.$2.ogg"
                ff -i "$1.$2.ogg" -f f32le -ar $rate -ac 2 "$out"; rm -f "$1.$2.ogg"; echo "$rate 2 0";;
        aac32) ff -f f32le -ar $rate -ac 2 -i "$in" -c:a aac -b:a 32k "$1.$2.m4a"
               ff -i "$1.$2.m4a" -f f32le -ar $rate -ac 2 "$out"; echo "$rate 2 0";;
        echo) ff -f f32le -ar $rate -ac 2 -i "$in" -af "aecho=0.8:0.7:60|180:0.4|0.25" -f f32le "$out"; echo "$rate 2 0";;
        cut) tail -c +$((cut_frames * 8 + 1)) "$in" > "$out"
             echo "$rate 2 $(awk -v n=$cut_frames -v r=$rate 'BEGIN{printf "%.6f", n/r}')";;
    esac
}

# Windows lie inside the marked range with a 0.25 s margin (the mark ramps in/out over 10 ms,
# and codec delays move things by a few ms). "After a pause": the detector first hears the 6 s
# ending 4 s before the window (it reads the payload there), then 4 s of digital silence, then
# the 2 s window: the mark of a stream that has already yielded its payload comes back.
echo "attacking and detecting ..." >&2
: > results.txt
for a in $attacks; do
    for c in $window_clips; do
        id=$(awk -v c=$c '$1==c{print $2}' ids.txt)
        read -r r ch shift scale < <(attack "$c" "$a")
        scale=${scale:-1}
        lo=$(awk -v s=$mark_start -v d=$shift -v k=$scale 'BEGIN{printf "%.3f", s * k - d + 0.25}')
        hi=$(awk -v s=$mark_end -v d=$shift -v k=$scale 'BEGIN{printf "%.3f", s * k - d - 0.25}')
        p3=$("$bench" windows "$c.$a.f32" --rate $r --channels $ch --id $id --key-file key.bin \
            --start $lo --end $hi --length 3 --count $windows --seed 11)
        p2=$("$bench" windows "$c.$a.f32" --rate $r --channels $ch --id $id --key-file key.bin \
            --start $lo --end $hi --length 2 --count $windows --seed 12)
        pr=$("$bench" windows "$c.$a.f32" --rate $r --channels $ch --id $id --key-file key.bin \
            --start $lo --end $hi --length 2 --count $windows --seed 14 --primer 6 --gap 4)
        wk=$("$bench" windows "$c.$a.f32" --rate $r --channels $ch --id $id --key-file wrong.bin \
            --start $lo --end $hi --length 3 --count $((windows / 2)) --seed 13)
        st=$("$bench" detect "$c.$a.f32" --rate $r --channels $ch --key-file wrong.bin | tail -1)
        num() { echo "$1" | sed -n "s/.*$2=\([0-9]*\).*/\1/p"; }
        echo "$a $c $(num "$p3" windows) $(num "$p3" correct) $(num "$p3" wrong) $(num "$p2" windows) $(num "$p2" present) \
$(num "$p2" wrong) $(( $(num "$wk" correct) + $(num "$wk" wrong) + $(num "$wk" present) )) $(num "$st" ranges) \
$(num "$pr" windows) $(num "$pr" present) $(num "$pr" wrong)" >> results.txt
        [ "$a" = none ] || rm -f "$c.$a.f32" "$c.$a.m4a" "$c.$a.mp3"
    done
done

# ---------------------------------------------------------------------------------------------
# Unmarked material, 16 kHz mono (the detector's own rate), >= 30 minutes, varied:
# speech in several voices/languages/speeds, music variants, noises, tones, silence.
ar=16000
target=$((unmarked_minutes * 60))
if have unmarked.f32 && [ $(( $(stat -c %s unmarked.f32) / 4 / ar )) -ge $target ]; then
    seconds_done=$target
else
    echo "generating ${unmarked_minutes} min of unmarked material ..." >&2
    : > unmarked.f32
    seconds_done=0
fi
n=0
texts=("The committee will meet again on Tuesday to discuss the budget for the coming year." \
       "Bitte schließen Sie die Türen, der Zug fährt in wenigen Sekunden ab." \
       "欢迎收听今天的新闻节目，下面是详细报道。" \
       "Le petit chat dort sur le canapé pendant que la pluie tombe doucement." \
       "El tren de las siete llega siempre con un poco de retraso." \
       "Questa è una registrazione di prova senza alcun contrassegno.")
voices=(en de zh fr es it)
while [ $seconds_done -lt $target ]; do
    i=$((n % 6)); n=$((n + 1))
    # ~60 s of speech: six sentences, varied speed and pitch.
    for k in 0 1 2 3 4 5; do
        espeak-ng -v "${voices[$(((i + k) % 6))]}" -s $((130 + 15 * ((n + k) % 6))) -p $((30 + 10 * ((n * k) % 5))) \
            -w u.wav "${texts[$(((i + k) % 6))]} ${texts[$(((i + k + 1) % 6))]}"
        ff -i u.wav -ar $ar -ac 1 -f f32le - >> unmarked.f32
    done
    # 2 min of music variants (transposed, other tempo), 30 s of a noise colour, 10 s tones,
    # 10 s digital silence.
    ff -f lavfi -i "aevalsrc=exprs='$(echo "$music_chords" | sed "s/110\*/$((90 + 13 * n))*/; s/t\*2)/t*$((1 + n % 4)))/")':s=$ar:d=60" -f f32le - >> unmarked.f32
    ff -f lavfi -i "aevalsrc=exprs='$(echo "$music_arp" | sed "s/220\*/$((170 + 11 * n))*/; s/t\*8)/t*$((4 + n % 6)))/")':s=$ar:d=60" -f f32le - >> unmarked.f32
    colours=(white pink brown blue violet velvet)
    ff -f lavfi -i "anoisesrc=c=${colours[$i]}:r=$ar:a=0.1:d=30:seed=$n" -f f32le - >> unmarked.f32
    ff -f lavfi -i "sine=f=$((200 + 97 * n)):r=$ar:d=10" -f f32le - >> unmarked.f32
    ff -f lavfi -i "anullsrc=r=$ar:cl=mono:d=10" -f f32le - >> unmarked.f32
    seconds_done=$(( $(stat -c %s unmarked.f32) / 4 / ar ))
done
fp=$("$bench" detect unmarked.f32 --rate $ar --channels 1 --key-file key.bin | tail -1)
# The same unmarked audio right after 5 s of a marked clip: the detector has read a payload and
# tests every window that does not decode for it (confirmation). Its z-scores are kept for the
# windows that hold no marked audio any more (from 3.5 s after the marked part on).
ff -f f32le -ar $rate -ac 2 -i speech_en.marked.f32 -ss 2 -t 5 -ar $ar -ac 1 -f f32le primer.f32
rm -f confirm_z.txt
fpp=$("$bench" detect unmarked.f32 --rate $ar --channels 1 --key-file key.bin --primer primer.f32 --dump confirm_z.txt | tail -1)
confirm_stats=$(awk '$1 >= 3.5 { n++; s+=$2; q+=$2*$2; if (n==1 || $2>m) m=$2 }
    END { printf "%d tests, mean %.2f, sd %.2f, max %.2f", n, s/n, sqrt(q/n-(s/n)^2), m }' confirm_z.txt)

# A switch to another id on the same grid: each clip marked with its id up to 10.24 s (4 whole
# periods), then the same clip marked with the neighbouring id (id xor 1: one bit apart, the
# closest codewords there are) under white noise at 20 dB SNR, so that some of its windows do
# not decode and the first id's confirmation is tested against a mark it partly matches.
echo "id switch ..." >&2
switch_at=10.24
: > switch.txt
for c in $window_clips; do
    id=$(awk -v c=$c '$1==c{print $2}' ids.txt); nid=$((id ^ 1))
    "$bench" embed "$c.f32" "$c.next.f32" --rate $rate --channels 2 --id $nid --key-file key.bin \
        --start $mark_start --end $mark_end > /dev/null
    "$bench" addnoise "$c.next.f32" "$c.next.noisy.f32" --snr 20 --channels 2 --seed 9
    bytes=$(awk -v s=$switch_at -v r=$rate 'BEGIN{printf "%d", s*r*8}')
    { head -c $bytes "$c.marked.f32"; tail -c +$((bytes + 1)) "$c.next.noisy.f32"; } > "$c.switch.f32"
    "$bench" detect "$c.switch.f32" --rate $rate --channels 2 --key-file key.bin | \
        awk -v c=$c -v a="id=$id" -v b="id=$nid" -v t=$switch_at '
            $2=="s" { split($1, r, "-"); if ($4==a) { if (r[2]-t > over) over=r[2]-t; if (r[1] > t+0.5) late++ }
                      if ($4==b && r[2] > 28) found=1 }
            END { printf "%s %.2f %d %d\n", c, over, late, found }' >> switch.txt
    rm -f "$c.next.f32" "$c.next.noisy.f32" "$c.switch.f32"
done
fpw=$("$bench" windows unmarked.f32 --rate $ar --channels 1 --id 0 --key-file key.bin --length 3 --count 2000 --seed 21)
speed=$("$bench" speed)

# ---------------------------------------------------------------------------------------------
# Report.
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
echo "## AudioMark robustness sweep"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), windows per clip and attack: $windows, clips: $(echo $window_clips | wc -w) (30 s each, marked 1-29 s: $window_clips)"
echo
echo "| attack | payload correct, 3 s windows | worst clip | presence, 2 s windows | worst clip | presence, 2 s after a pause | wrong payload | wrong key: windows / ranges |"
echo "|---|---|---|---|---|---|---|---|"
for a in $attacks; do
    # results.txt: attack clip n3 correct3 wrong3 n2 present2 wrong2 wrongkey_hits wrongkey_ranges
    #              n_pause present_pause wrong_pause
    awk -v a=$a '$1==a { n3+=$3; c3+=$4; w+=$5+$8+$13; n2+=$6; p2+=$7; wk+=$9; wr+=$10; np+=$11; pp+=$12
                         pc=100*$4/$3; if (worst=="" || pc<worst) { worst=pc; wc=$2 }
                         pc=100*$7/$6; if (worst2=="" || pc<worst2) { worst2=pc; wc2=$2 } }
        END { printf "| %s | %.1f%% (%d/%d) | %.0f%% (%s) | %.1f%% | %.0f%% (%s) | %.1f%% | %d | %d / %d |\n",
                     a, 100*c3/n3, c3, n3, worst, wc, 100*p2/n2, worst2, wc2, 100*pp/np, w, wk, wr }' results.txt
done
echo
echo "Presence, 2 s windows: a fresh detector hears only the window (its payload decoded with the"
echo "coded bits it did not see as erasures, or the sync alone at z ≥ 6). After a pause: the detector"
echo "read the payload in the 6 s ending 4 s before the window, then heard 4 s of silence and the"
echo "window (a stream whose mark comes back); a confirmation against the payload read counts."
echo
echo "Quality (per clip, marked range 1-29 s):"
echo
echo "| clip | SNR of the mark | peak of difference within ±2 ms of the edges | within ±50 ms | host peak | digital-silence samples changed |"
echo "|---|---|---|---|---|---|"
while read -r c rest; do
    echo "| $c | $(echo "$rest" | field snr_db) dB | $(echo "$rest" | field edge2ms_peak_dbfs) dBFS | $(echo "$rest" | field edge_peak_dbfs) dBFS | $(echo "$rest" | field host_peak) | $(echo "$rest" | field silence_violations) |"
done < quality.txt
echo
ufp_ranges=$(echo "$fp" | field ranges); ufp_sec=$(echo "$fp" | field seconds); ufp_att=$(echo "$fp" | field decode_attempts)
echo "False positives on unmarked material: $(awk -v s=$ufp_sec 'BEGIN{printf "%.1f", s/60}') min streamed: **$ufp_ranges ranges** \
($ufp_att decode attempts, $(awk -v a=$ufp_att -v s=$ufp_sec 'BEGIN{printf "%.1f", a/s}')/s; each passes the keyed CRC-32 with p = 2^-32, \
so the expected false-payload rate is $(awk -v a=$ufp_att -v s=$ufp_sec 'BEGIN{printf "%.1e", a/s/4294967296*86400*365}') per year of audio); \
2000 random 3 s windows: $(echo "$fpw" | sed 's/windows=[0-9]* //'); strongest sync z on unmarked: $(echo "$fp" | field strongest_sync)."
echo
echo "The same unmarked material streamed after 5 s of a marked clip (the detector has read its payload): \
**$(echo "$fpp" | field ranges) ranges** after the marked part (which is reported to end at $(echo "$fpp" | field primer_range_end) s of \
$(echo "$fpp" | field primer_length) s); confirmation tests on windows without marked audio: $confirm_stats \
(threshold 6.5; ≤ 6 tests/s at p = 4e-11 each if ~N(0,1): one false confirmation per ~130 years)."
echo
echo "Switch to the neighbouring id (one bit apart) on the same grid at ${switch_at} s, the second id under 20 dB white noise, \
$(wc -l < switch.txt) clips: the first id's range runs on past the switch by at most \
$(awk '{ if ($2 > m) m = $2 } END { printf "%.2f", m }' switch.txt) s; first id reported after the switch: \
$(awk '{ n += $3 } END { print n+0 }' switch.txt) times; second id found through to its end in $(awk '{ n += $4 } END { print n+0 }' switch.txt) clips."
echo
echo "Speed: $speed"
