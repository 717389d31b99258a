#!/bin/bash
# Issue 16, item 1: does labelcast come up with video when it joins an RTMP stream mid-GOP
# behind nginx-rtmp `wait_key on` (video held back until the next keyframe)?
#
#   Benchmarks/rtmp-midgop.sh [LABELCAST_BIN] [RUNS] [GOPS_SECONDS...]
#
# For each GOP (default 4 and 8 s at 25 fps): RUNS starts (default 10), each against a fresh
# publisher joined at a random point inside its first GOP; then one labelcast run through RUNS
# publisher restarts, each reconnect again landing mid-GOP. Counts starts whose output has a
# video stream with frames, and reconnects after which video frames come out again (the
# output's video carries on past the reconnect). Prints one line per GOP. Loopback only.
set -u
BIN=${1:-.build/debug/labelcast}
RUNS=${2:-10}
shift 2 2>/dev/null
GOPS=${*:-4 8}
DIR=$(mktemp -d /tmp/labelcast-midgop.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
MODULE=$(ls /usr/lib/nginx/modules/ngx_rtmp_module.so /usr/share/nginx/modules/ngx_rtmp_module.so 2>/dev/null | head -1)
cat > "$DIR/nginx.conf" <<EOF
load_module $MODULE;
daemon off;
master_process off;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log warn;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:$PORT; chunk_size 4096;
    application ingest { live on; record off; wait_key on; } } }
EOF
nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/nginx-error.log" >/dev/null 2>&1 &
NGINX=$!
PUB=
LC=
cleanup() { for p in $LC $PUB $RELAY $NGINX; do kill -9 "$p" 2>/dev/null; done; [ "${KEEP:-0}" = 1 ] && echo "kept $DIR" || rm -rf "$DIR"; }
trap cleanup EXIT
sleep 1
URL=rtmp://127.0.0.1:$PORT/ingest/s

publish() { # GOP frames
    ffmpeg -v error -re -f lavfi -i color=c=0x808080:size=320x180:rate=25 -f lavfi -i sine=f=440:r=48000 -t 300 \
        -c:v libx264 -preset ultrafast -tune zerolatency -g "$1" -keyint_min "$1" -sc_threshold 0 -pix_fmt yuv420p \
        -c:a aac -b:a 96k -f flv "$URL" >"$DIR/pub.log" 2>&1 </dev/null &
    PUB=$!
}
# labelcast reads through a TCP relay on RPORT for the reconnect runs (python3).
RPORT=$((PORT + 1))
RELAY=
relay() {
    python3 -c '
import socket, sys, threading
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1]))); server.listen(8)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
while True:
    c, _ = server.accept(); u = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start(); threading.Thread(target=pipe, args=(u, c), daemon=True).start()
' "$RPORT" "$PORT" >/dev/null 2>&1 &
    RELAY=$!
    sleep 0.3
}
# A random point strictly inside the first GOP (0.5 s .. GOP-0.5 s), in seconds.
inside() { awk -v g="$1" -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.5 + (g - 1) * r / 32767 }'; }
video_frames() { ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$1" 2>/dev/null | tr -d ','; }

for GOP in $GOPS; do
    frames=$((GOP * 25))
    ok=0
    for i in $(seq "$RUNS"); do
        publish $frames
        sleep "$(inside "$GOP")"
        rm -f "$DIR/out.mkv"
        "$BIN" run -i "$URL" -o "$DIR/out.mkv" --synthetic none --read-timeout 3 -q >"$DIR/lc-$GOP-$i.log" 2>&1 &
        LC=$!
        sleep $((GOP + 4))
        kill -INT $LC; wait $LC 2>/dev/null; LC=
        kill -9 $PUB; wait $PUB 2>/dev/null; PUB=
        n=$(video_frames "$DIR/out.mkv"); n=${n:-0}
        [ "$n" -gt 0 ] && ok=$((ok + 1))
        sleep 0.5
    done
    [ "${RECONNECTS:-1}" = 0 ] && { echo "GOP ${GOP}s: starts with video $ok/$RUNS"; continue; }
    # Reconnects: one run reading through a TCP relay; the relay is killed and restarted RUNS
    # times (the publisher stays on), so each rejoin lands mid-GOP.
    publish $frames
    relay
    sleep "$(inside "$GOP")"
    rm -f "$DIR/rec.mkv" "$DIR/audit.jsonl" "$DIR/frames.csv"
    "$BIN" run -i "rtmp://127.0.0.1:$RPORT/ingest/s" -o "$DIR/rec.mkv" --synthetic none --read-timeout 2 -q \
        --audit-log "$DIR/audit.jsonl" --frame-log "$DIR/frames.csv" >"$DIR/lc-rec-$GOP.log" 2>&1 &
    LC=$!
    sleep $((GOP + 3))
    rok=0
    for i in $(seq "$RUNS"); do
        kill -9 $RELAY; wait $RELAY 2>/dev/null
        relay
        for _ in $(seq 80); do [ "$(grep -c input_reconnected "$DIR/audit.jsonl")" -ge "$i" ] && break; sleep 0.25; done
        before=$(grep -c ',video,' "$DIR/frames.csv")
        # A GOP and a bit: the next keyframe comes within one GOP.
        sleep $((GOP + 2))
        after=$(grep -c ',video,' "$DIR/frames.csv")
        [ $((after - before)) -gt 25 ] && rok=$((rok + 1))
        sleep "$(inside "$GOP")"
    done
    kill -INT $LC; wait $LC 2>/dev/null; LC=
    kill -9 $PUB $RELAY; wait $PUB $RELAY 2>/dev/null; PUB=; RELAY=
    missing=$(grep -c input_stream_missing "$DIR/audit.jsonl")
    reconnects=$(grep -c input_reconnected "$DIR/audit.jsonl")

    echo "GOP ${GOP}s: starts with video $ok/$RUNS; reconnects with video again $rok/$RUNS ($reconnects reconnects, $missing input_stream_missing)"
done
