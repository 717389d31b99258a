#!/usr/bin/env python3
"""How clean are the joins of copied and re-encoded audio?

With copying (the default), AAC packets outside a synthetic stretch are the input's own and the
stretch (plus one frame each side) is re-encoded by a fresh encoder fed from 24 frames before
it and flushed 2 frames after it. Where a copied and a re-encoded packet meet, their MDCT
windows overlap: this measures the decoded output against the input at those frames, through
`labelcast run` as users run it, beside the same frames of

  - `labelcast run --transcode` (every packet re-encoded by one encoder, the watermark on),
  - `ffmpeg -c:a aac -b:a 128k` of the whole track (no watermark): the codec's own error there.

For several segment positions (on and off the 1024-sample frame grid), SNR in dB of the join
frame (the first re-encoded packet's frame, the first copied packet's frame after the stretch),
each decoded by ffmpeg, aligned on the input. Also the frames away from the stretch (copied
packets decode to the input's samples). Writes a markdown block (command, date, machine,
commit) to --out.

    python3 Benchmarks/audio-copy-joins.py [--bin .build/release] [--out Benchmarks/results/audio-copy-joins.md]

Needs ffmpeg and numpy (`pip install numpy`).
"""
import argparse
import datetime
import math
import os
import platform
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    sys.exit("audio-copy-joins: needs numpy (pip install numpy)")

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
FRAME, RATE = 1024, 48000
D = FRAME / RATE
SECONDS = 30
SEGMENTS = ["4-7", "9.37-12.81", "15.02-15.9", "20.5-26.123"]
# The tonal clip of AudioCopyTests (never silent, no noise: AAC's noise substitution would make
# decoded samples differ where packets do not), 30 s.
TONE = ("aevalsrc=0.25*sin(2*PI*440*t)*(1+0.5*sin(2*PI*0.7*t))+0.15*sin(2*PI*660*t+2*sin(2*PI*3*t))+0.08*sin(2*PI*1250*t)"
        "|0.2*sin(2*PI*330*t)+0.1*sin(2*PI*990*t)*(1+0.5*sin(2*PI*1.3*t)):s=48000")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True)
    if r.returncode != 0:
        sys.exit(f"audio-copy-joins: {' '.join(cmd[:2])} failed: {r.stderr.decode(errors='replace').strip()[-300:]}")
    return r.stdout


def packets(path):
    out = run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-c", "copy", "-f", "framemd5", "-"]).decode()
    return [f.split(",")[5].strip() for f in out.splitlines() if f and not f.startswith("#") and len(f.split(",")) >= 6]


def samples(path):
    raw = run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "f32le", "-ac", "2", "-"])
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, 2).astype(np.float64)


def snr(ref, x, k):
    a, b = ref[k * FRAME:(k + 1) * FRAME], x[k * FRAME:(k + 1) * FRAME]
    n = min(len(a), len(b))
    e = float(np.sum((a[:n] - b[:n]) ** 2))
    return 10 * math.log10(float(np.sum(a[:n] ** 2)) / max(e, 1e-20))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(PACKAGE, ".build", "release"))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "audio-copy-joins.md"))
    args = ap.parse_args()
    lc = os.path.join(args.bin, "labelcast")
    if not os.access(lc, os.X_OK):
        sys.exit(f"audio-copy-joins: {lc} is missing (make release)")
    work = tempfile.mkdtemp(prefix="audio-copy-joins-")
    clip = os.path.join(work, "clip.mp4")
    run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i", TONE,
         "-t", str(SECONDS), "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", clip])
    key = os.path.join(work, "wm.key")
    with open(key, "w") as f:
        f.write("audio-copy-joins benchmark key, not a secret\n")
    ref = os.path.join(work, "ffmpeg.m4a")
    run(["ffmpeg", "-v", "error", "-y", "-i", clip, "-map", "0:a", "-c:a", "aac", "-b:a", "128k", ref])
    x_in, x_ff, p_in = samples(clip), samples(ref), packets(clip)
    rows, worst_away = [], float("inf")
    for seg in SEGMENTS:
        copy, full = os.path.join(work, "copy.mp4"), os.path.join(work, "full.mp4")
        run([lc, "run", "-q", "-i", clip, "-o", copy, "--segments", seg, "--key-file", key])
        run([lc, "run", "-q", "-i", clip, "-o", full, "--segments", seg, "--key-file", key, "--transcode"])
        p_out = packets(copy)
        changed = [i for i, (a, b) in enumerate(zip(p_in, p_out)) if a != b]
        if not changed or len(p_out) != len(p_in):
            sys.exit(f"audio-copy-joins: segment {seg}: {len(changed)} packets re-encoded, {len(p_in)} in, {len(p_out)} out")
        first, last = changed[0], changed[-1]
        x_copy, x_full = samples(copy), samples(full)
        # Packet k (k = 0 is the priming packet) decodes to samples of frame k - 1; the join
        # frames are the first re-encoded packet's own and the first copied packet's after.
        joins = {"entry": first - 1, "exit": last}
        row = {"seg": seg, "first": (first - 1) * D, "last": (last - 1) * D}
        for name, k in joins.items():
            row[name] = (snr(x_in, x_copy, k), snr(x_in, x_full, k), snr(x_in, x_ff, k))
        frames = min(len(x_in), len(x_copy)) // FRAME
        away = [k for k in range(2, frames - 4) if k < first - 3 or k > last + 2]
        row["away"] = min(snr(x_in, x_copy, k) for k in away)
        row["tail"] = min(snr(x_in, x_copy, k) for k in range(frames - 4, frames))
        worst_away = min(worst_away, row["away"])
        rows.append(row)

    commit = subprocess.run(["git", "-C", PACKAGE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown"
    if subprocess.run(["git", "-C", PACKAGE, "diff", "--quiet"]).returncode != 0:
        commit += " (+ uncommitted changes)"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    ffv = run(["ffmpeg", "-version"]).decode().split("\n")[0].split()[2]
    lines = [
        "## Audio copy joins (`Benchmarks/audio-copy-joins.py`)",
        "",
        f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({cpu}), "
        f"{platform.system()} {platform.release()}, ffmpeg {ffv}; labelcast {commit} ({lc}).",
        f"Command: `python3 Benchmarks/audio-copy-joins.py --bin {args.bin}` — a {SECONDS} s tonal AAC-LC 48 kHz stereo "
        "128 kb/s clip (AudioCopyTests' signal), `labelcast run --segments S` (copying, the default) and `--transcode`, "
        "and `ffmpeg -c:a aac -b:a 128k` of the whole track; every output decoded by ffmpeg and compared with the "
        "decoded input, frame by frame (1024 samples).",
        "",
        "| segment | re-encoded packets | entry join: copy / --transcode / ffmpeg | exit join: copy / --transcode / ffmpeg | worst copied frame | last 4 frames of the file |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        e, x = r["entry"], r["exit"]
        lines.append(f"| {r['seg']} s | {r['first']:.3f}-{r['last'] + D:.3f} s | **{e[0]:.1f}** / {e[1]:.1f} / {e[2]:.1f} dB "
                     f"| **{x[0]:.1f}** / {x[1]:.1f} / {x[2]:.1f} dB | {r['away']:.0f} dB | {r['tail']:.0f} dB |")
    entry = [r["entry"][0] for r in rows]
    exit_ = [r["exit"][0] for r in rows]
    lines += [
        "",
        f"Joins through the shipped path: entry mean {sum(entry) / len(entry):.1f} dB (worst {min(entry):.1f}), "
        f"exit mean {sum(exit_) / len(exit_):.1f} dB (worst {min(exit_):.1f}); "
        f"ffmpeg's own re-encode at the same frames: {min(min(r['entry'][2], r['exit'][2]) for r in rows):.1f}-"
        f"{max(max(r['entry'][2], r['exit'][2]) for r in rows):.1f} dB. Copied frames away from the stretch: "
        f"≥ {worst_away:.0f} dB (the same packets decoded; not bit-identical, the decoder's float path), "
        f"the last 4 frames of the file ≥ {min(r['tail'] for r in rows):.0f} dB. "
        "SNR = signal energy / error energy of the frame, both channels.",
    ]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
