#!/usr/bin/env python3
"""SCTE-35 in MPEG-TS for labelcast's tests, independent of labelcast and of FFmpeg (stdlib only).

FFmpeg cannot write SCTE-35, so the tests make their input here:

  scte35.py inject IN.ts OUT.ts CUES.json   adds a PMT entry (stream type 0x86, registration
      descriptor 'CUEI' in the program loop, SCTE 35 section 8.1) on PID 0x1F4 and the
      splice_info_sections described in CUES.json (a list of
      {"event_id", "out_of_network", "frame" (presentation index of the video picture the
      splice lands on), "adjustment" (the section's pts_adjustment), "lead" (seconds before
      that picture the section is sent), "avails" (number of avail descriptors; 24 or more make
      a section longer than one TS packet), "immediate"}); prints JSON: each cue with its
      splice pts_time, the PTS it lands on and where it was put.

  scte35.py sections FILE.ts   prints JSON: the programs (number, PMT PID), each SCTE-35 PID the
      PMTs declare (stream type, descriptors), whether the program loop has 'CUEI', every section
      read on those PIDs (CRC, pts_adjustment, command, event id, splice time, descriptors), and
      what the TS layer looked like (continuity errors, PES start codes, stuffing that is not
      0xFF).
"""
import json
import sys

TS = 188
MOD33 = 1 << 33
SCTE_PID = 0x1F4


def crc32_mpeg(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc


def packets(data):
    if len(data) % TS or any(data[i] != 0x47 for i in range(0, len(data), TS)):
        raise SystemExit("not a 188-byte MPEG-TS")
    return [bytearray(data[i:i + TS]) for i in range(0, len(data), TS)]


def pid_of(p):
    return ((p[1] & 0x1F) << 8) | p[2]


def payload(p):
    afc = (p[3] >> 4) & 3
    if afc in (0, 2):
        return b""
    start = 4 + (1 + p[4] if afc == 3 else 0)
    return bytes(p[start:])


def pes_pts(pl):
    """PTS, DTS of a PES header at the start of `pl` (None when absent)."""
    if pl[:3] != b"\x00\x00\x01":
        return None, None
    flags = pl[7] >> 6

    def ts(o):
        return (((pl[o] >> 1) & 7) << 30) | (pl[o + 1] << 22) | ((pl[o + 2] >> 1) << 15) | (pl[o + 3] << 7) | (pl[o + 4] >> 1)
    pts = ts(9) if flags & 2 else None
    dts = ts(14) if flags == 3 else pts
    return pts, dts


def section_at(pl):
    """The section a payload_unit_start packet's payload begins (after its pointer_field)."""
    return pl[1 + pl[0]:]


def pat_pmts(pkts):
    for p in pkts:
        if pid_of(p) == 0 and p[1] & 0x40:
            s = section_at(payload(p))
            n = ((s[1] & 0x0F) << 8) | s[2]
            body = s[8:3 + n - 4]
            return {(body[i] << 8) | body[i + 1]: ((body[i + 2] & 0x1F) << 8) | body[i + 3]
                    for i in range(0, len(body), 4) if (body[i] << 8) | body[i + 1]}
    raise SystemExit("no PAT")


def descriptors(b):
    out, i = [], 0
    while i + 2 <= len(b):
        out.append((b[i], bytes(b[i + 2:i + 2 + b[i + 1]])))
        i += 2 + b[i + 1]
    return out


def parse_pmt(s):
    n = ((s[1] & 0x0F) << 8) | s[2]
    program = (s[3] << 8) | s[4]
    pinfo = ((s[10] & 0x0F) << 8) | s[11]
    prog_desc = descriptors(s[12:12 + pinfo])
    es, i, end = [], 12 + pinfo, 3 + n - 4
    while i < end:
        st, pid, el = s[i], ((s[i + 1] & 0x1F) << 8) | s[i + 2], ((s[i + 3] & 0x0F) << 8) | s[i + 4]
        es.append({"stream_type": st, "pid": pid, "descriptors": descriptors(s[i + 5:i + 5 + el])})
        i += 5 + el
    return {"program": program, "program_descriptors": prog_desc, "streams": es,
            "crc_ok": crc32_mpeg(s[:3 + n]) == 0}


# --- splice_info_section ---------------------------------------------------------------------

def splice_time(pts):
    if pts is None:
        return bytes([0x7F])
    return bytes([0xFE | (pts >> 32), (pts >> 24) & 0xFF, (pts >> 16) & 0xFF, (pts >> 8) & 0xFF, pts & 0xFF])


def make_splice_insert(event_id, out_of_network, pts_time, adjustment, duration=None, avails=0, immediate=False):
    cmd = bytearray(event_id.to_bytes(4, "big"))
    cmd.append(0x7F)  # splice_event_cancel_indicator 0
    cmd.append((out_of_network << 7) | (1 << 6) | ((duration is not None) << 5) | (immediate << 4) | 0x0F)
    if not immediate:
        cmd += splice_time(pts_time)
    if duration is not None:
        cmd += bytes([0x80 | 0x7E | (duration >> 32)]) + (duration & 0xFFFFFFFF).to_bytes(4, "big")
    cmd += (0x0100 + event_id % 256).to_bytes(2, "big") + bytes([1, 1])  # unique_program_id, avail_num, avails_expected
    desc = bytearray()
    for k in range(avails):  # avail_descriptor: identifier 'CUEI', provider_avail_id
        desc += bytes([0x00, 8]) + b"CUEI" + (0xA0000000 + k).to_bytes(4, "big")
    body = bytearray([0x00])  # protocol_version
    body += bytes([(adjustment >> 32) & 1]) + (adjustment & 0xFFFFFFFF).to_bytes(4, "big")
    body += bytes([0x00])  # cw_index
    body += (((0xFFF << 12) | len(cmd)) & 0xFFFFFF).to_bytes(3, "big")
    body += bytes([0x05]) + cmd + len(desc).to_bytes(2, "big") + desc
    length = len(body) + 4
    sec = bytearray([0xFC, 0x30 | (length >> 8), length & 0xFF]) + body
    return bytes(sec + crc32_mpeg(sec).to_bytes(4, "big"))


def parse_splice(s):
    n = ((s[1] & 0x0F) << 8) | s[2]
    sec = s[:3 + n]
    out = {"table_id": s[0], "length": len(sec), "crc_ok": crc32_mpeg(sec) == 0, "hex": sec.hex()}
    out["pts_adjustment"] = ((s[4] & 1) << 32) | int.from_bytes(s[5:9], "big")
    out["encrypted"] = bool(s[4] & 0x80)
    cmd_len = ((s[11] & 0x0F) << 8) | s[12]
    out["command_type"] = s[13]
    cmd = s[14:14 + cmd_len]
    out["command_hex"] = cmd.hex()
    if s[13] == 0x05:
        out["event_id"] = int.from_bytes(cmd[0:4], "big")
        if not cmd[4] & 0x80:
            flags = cmd[5]
            out["out_of_network"] = bool(flags & 0x80)
            out["immediate"] = bool(flags & 0x10)
            if flags & 0x40 and not flags & 0x10 and cmd[6] & 0x80:
                out["pts_time"] = ((cmd[6] & 1) << 32) | int.from_bytes(cmd[7:11], "big")
    elif s[13] == 0x06 and cmd[0] & 0x80:
        out["pts_time"] = ((cmd[0] & 1) << 32) | int.from_bytes(cmd[1:5], "big")
    dl = int.from_bytes(s[14 + cmd_len:16 + cmd_len], "big")
    out["descriptors_hex"] = s[16 + cmd_len:16 + cmd_len + dl].hex()
    return out


# --- inject ----------------------------------------------------------------------------------

def ts_packets_for_section(sec, cc):
    """The section after a pointer_field of 0, split over TS packets, stuffed with 0xFF."""
    out, data, first = [], bytes([0]) + sec, True
    while data:
        chunk, data = data[:184], data[184:]
        hdr = bytes([0x47, (0x40 if first else 0) | (SCTE_PID >> 8), SCTE_PID & 0xFF, 0x10 | cc])
        out.append(bytearray(hdr + chunk + b"\xff" * (184 - len(chunk))))
        cc, first = (cc + 1) & 15, False
    return out, cc


def rewrite_pmt(p):
    pl = payload(p)
    s = bytearray(section_at(pl))
    n = ((s[1] & 0x0F) << 8) | s[2]
    s = s[:3 + n - 4]
    pinfo = ((s[10] & 0x0F) << 8) | s[11]
    reg = bytes([0x05, 4]) + b"CUEI"
    s = s[:12] + s[12:12 + pinfo] + reg + s[12 + pinfo:]
    s[10:12] = (0xF000 | (pinfo + len(reg))).to_bytes(2, "big")
    s += bytes([0x86, 0xE0 | (SCTE_PID >> 8), SCTE_PID & 0xFF, 0xF0, 0x00])
    n = len(s) + 4 - 3
    s[1:3] = (0xB000 | n).to_bytes(2, "big")
    s += crc32_mpeg(s).to_bytes(4, "big")
    head = len(p) - len(pl)
    assert head == 4 and 1 + len(s) <= 184, "PMT does not fit one packet"
    body = bytes([0]) + s
    p[4:] = body + b"\xff" * (184 - len(body))


def inject(src, dst, cues_path):
    pkts = packets(open(src, "rb").read())
    cues = json.load(open(cues_path))
    pmts = set(pat_pmts(pkts).values())
    # Video pictures: PES starts on the first PMT's first video PID.
    video_pid, video = None, []
    for p in pkts:
        if pid_of(p) in pmts and p[1] & 0x40:
            for e in parse_pmt(section_at(payload(p)))["streams"]:
                if e["stream_type"] in (0x1B, 0x24, 0x02):
                    video_pid = e["pid"]
                    break
            break
    for i, p in enumerate(pkts):
        if pid_of(p) == video_pid and p[1] & 0x40:
            pts, dts = pes_pts(payload(p))
            video.append((i, pts, dts))
    order = sorted(v[1] for v in video)
    placed = []
    for c in cues:
        target = order[c["frame"]]
        adj = c.get("adjustment", 0)
        pts_time = (target - adj) % MOD33
        send_before = target - int(c.get("lead", 1.0) * 90000)
        where = next((i for i, _, dts in video if dts >= send_before), video[-1][0])
        sec = make_splice_insert(c["event_id"], c.get("out_of_network", 1), pts_time, adj,
                                 duration=c.get("duration"), avails=c.get("avails", 0), immediate=c.get("immediate", False))
        placed.append({"at": where, "section": sec, "cue": dict(c, pts_time=pts_time, lands_on=target,
                                                                     section_bytes=len(sec))})
    placed.sort(key=lambda x: x["at"])
    out, cc, k = [], 0, 0
    for i, p in enumerate(pkts):
        while k < len(placed) and placed[k]["at"] == i:
            more, cc = ts_packets_for_section(placed[k]["section"], cc)
            out += more
            k += 1
        if pid_of(p) in pmts and p[1] & 0x40:
            rewrite_pmt(p)
        out.append(p)
    open(dst, "wb").write(b"".join(out))
    print(json.dumps({"video_pid": video_pid, "scte_pid": SCTE_PID, "cues": [x["cue"] for x in placed]}))


# --- read back -------------------------------------------------------------------------------

def sections(path):
    pkts = packets(open(path, "rb").read())
    pmt_pids = pat_pmts(pkts)
    programs, scte = {}, {}
    for p in pkts:
        if pid_of(p) in pmt_pids.values() and p[1] & 0x40:
            pmt = parse_pmt(section_at(payload(p)))
            if not pmt["crc_ok"]:
                programs.setdefault(pmt["program"], {})["bad_crc"] = True
                continue
            prog = programs.setdefault(pmt["program"], {"pmt_pid": pid_of(p)})
            prog["cuei"] = any(t == 0x05 and d == b"CUEI" for t, d in pmt["program_descriptors"])
            prog["streams"] = [{"stream_type": e["stream_type"], "pid": e["pid"],
                                "descriptors": [[t, d.hex()] for t, d in e["descriptors"]]} for e in pmt["streams"]]
            for e in pmt["streams"]:
                if e["stream_type"] == 0x86:
                    scte[e["pid"]] = pmt["program"]
    def drain(buf, pid):
        """Parses the complete sections at the start of `buf`; returns what is left (None after stuffing)."""
        while len(buf) >= 3 and buf[0] != 0xFF:
            n = ((buf[1] & 0x0F) << 8) | buf[2]
            if len(buf) < 3 + n:
                return buf
            sec = parse_splice(bytes(buf[:3 + n]))
            sec["pid"], sec["program"] = pid, scte[pid]
            found.append(sec)
            buf = buf[3 + n:]
        if buf and buf[0] == 0xFF:
            if any(b != 0xFF for b in buf):
                layer["bad_stuffing"] += 1
            return None
        return buf

    found, layer = [], {"cc_errors": 0, "pes_starts": 0, "bad_stuffing": 0, "packets": 0, "adaptation": 0}
    for pid in scte:
        buf, last_cc = None, None
        for p in pkts:
            if pid_of(p) != pid:
                continue
            layer["packets"] += 1
            if (p[3] >> 4) & 2:
                layer["adaptation"] += 1
            cc = p[3] & 15
            if last_cc is not None and cc != (last_cc + 1) & 15:
                layer["cc_errors"] += 1
            last_cc = cc
            pl = payload(p)
            if p[1] & 0x40:
                if pl[:3] == b"\x00\x00\x01":
                    layer["pes_starts"] += 1
                    buf = None
                    continue
                if buf is not None:  # the end of the previous section comes before the pointer
                    buf += pl[1:1 + pl[0]]
                    drain(buf, pid)
                buf = bytearray(pl[1 + pl[0]:])
            elif buf is not None:
                buf += pl
            else:
                continue
            buf = drain(buf, pid)

    print(json.dumps({"programs": [dict(v, number=k) for k, v in sorted(programs.items())],
                      "scte_pids": sorted(scte), "sections": found, "ts": layer}))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "inject":
        inject(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "sections":
        sections(sys.argv[2])
    else:
        raise SystemExit(__doc__)
