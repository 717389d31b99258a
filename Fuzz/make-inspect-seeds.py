#!/usr/bin/env python3
"""Writes the seed inputs of the inspect fuzz targets into corpus/<target>/ (committed; rerun
after changing this script). Small by design: libFuzzer grows its own corpus under
.build-fuzz/corpus/. Each seed is a form labelcast writes, or one step away from it."""
import json, os, struct

here = os.path.dirname(os.path.abspath(__file__))
AIGC = {"AIGC": {"Label": "1", "ContentProducer": "labelcast", "ProduceID": "run-1", "ReservedCode1": "",
                 "ContentPropagator": "labelcast", "PropagateID": "run-1", "ReservedCode2": ""}}
VALUE = json.dumps(AIGC, separators=(",", ":"))


def put(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def syncsafe(n):
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3(desc, value):
    body = b"\x03" + desc.encode() + b"\x00" + value.encode()
    frame = b"TXXX" + syncsafe(len(body)) + b"\x00\x00" + body
    return b"ID3\x04\x00\x00" + syncsafe(len(frame)) + frame


def box(kind, payload):
    return struct.pack(">I", 8 + len(payload)) + kind.encode() + payload


def full(kind, version, flags, payload):
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


# aigc-value
put("aigc-value", "label1", VALUE)
for label in ("2", "3", "4", ""):
    v = json.loads(VALUE); v["AIGC"]["Label"] = label
    put("aigc-value", f"label-{label or 'empty'}", json.dumps(v))
v = json.loads(VALUE); del v["AIGC"]["ProduceID"]; put("aigc-value", "missing-field", json.dumps(v))
v = json.loads(VALUE); v["AIGC"]["Label"] = 1; put("aigc-value", "label-number", json.dumps(v))
put("aigc-value", "lowercase-key", VALUE.replace('"AIGC"', '"aigc"'))
put("aigc-value", "extra-member", VALUE[:-1] + ',"x":1}')
put("aigc-value", "not-json", "Label=1;ContentProducer=x")
put("aigc-value", "array", "[1,2,3]")
put("aigc-value", "deep", "[" * 64 + "]" * 64)

# timed-id3
put("timed-id3", "tag", id3("AIGC", VALUE))
put("timed-id3", "headerless", id3("AIGC", VALUE)[6:])
put("timed-id3", "other-desc", id3("comment", "x") + id3("AIGC", "y"))
put("timed-id3", "roundtrip", b"AIGC\x00" + VALUE.encode())
t = bytearray(id3("AIGC", VALUE)); t[6:10] = b"\x7f\x7f\x7f\x7f"; put("timed-id3", "huge-size", bytes(t))

# c2pa-report
manifest = {
    "active_manifest": "urn:c2pa:1",
    "manifests": {"urn:c2pa:1": {
        "signature_info": {"issuer": "labelcast test", "common_name": "labelcast", "alg": "Es256", "time": "2026-12-02T00:00:00Z"},
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [{"action": "c2pa.created", "softwareAgent": {"name": "labelcast"},
             "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}]}},
            {"label": "org.labelcast.labeling", "data": {"synthetic_ranges": [{"start": 0, "end": 4.5}, {"start": 6, "end": 8}]}}],
        "ingredients": [{"title": "in.mp4", "format": "video/mp4", "relationship": "parentOf", "active_manifest": "urn:c2pa:0"}]}},
    "validation_state": "Valid",
    "validation_results": {"activeManifest": {"success": [], "failure": [], "informational": []}},
}
put("c2pa-report", "valid-ai", json.dumps(manifest))
m = json.loads(json.dumps(manifest)); m["validation_results"]["activeManifest"]["failure"] = [{"code": "assertion.dataHash.mismatch"}]
m["validation_state"] = "Invalid"; put("c2pa-report", "invalid-ai", json.dumps(m))
m = json.loads(json.dumps(manifest)); del m["validation_results"]; m["validation_status"] = [{"code": "signingCredential.untrusted"}]
put("c2pa-report", "status-untrusted", json.dumps(m))
put("c2pa-report", "range-1e400", json.dumps(manifest).replace('"end": 8', '"end": 1e400'))
put("c2pa-report", "range-1e308", json.dumps(manifest).replace('"end": 8', '"end": 1.5e308'))
put("c2pa-report", "empty", "{}")

# hls-playlist
media = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="out_init.mp4"
#EXT-X-DATERANGE:ID="aigc-1",CLASS="org.labelcast.aigc",START-DATE="2026-12-02T04:00:01.000Z",DURATION=3.000,X-AIGC-LABEL="AI-generated",X-AIGC=0x%s
#EXT-X-PROGRAM-DATE-TIME:2026-12-02T04:00:00.000+0000
#EXTINF:2.000000,
out0.m4s
#EXTINF:2.000000,
out1.m4s
#EXT-X-DATERANGE:ID="aigc-2",CLASS="org.labelcast.aigc",START-DATE="2026-12-02T04:00:05.000Z",X-AIGC=0x%s
#EXTINF:2.000000,
out2.m4s
#EXT-X-ENDLIST
""" % (VALUE.encode().hex().upper(), VALUE.encode().hex().upper())
put("hls-playlist", "media-fmp4", media)
put("hls-playlist", "media-ts", media.replace('#EXT-X-MAP:URI="out_init.mp4"\n', "").replace(".m4s", ".ts"))
put("hls-playlist", "master", """#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="a"
low/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720
http://example.com/high/index.m3u8
""")
put("hls-playlist", "live-crlf", media.replace("#EXT-X-ENDLIST\n", "").replace("\n", "\r\n"))
put("hls-playlist", "bad-dates", media.replace("2026-12-02T04:00:01.000Z", "yesterday").replace("DURATION=3.000", "DURATION=-1,END-DATE=\"9999-12-31T23:59:59Z\""))

# media-boxes
def tkhd(track):
    return full("tkhd", 0, 3, b"\0" * 8 + struct.pack(">I", track) + b"\0" * 68)
def mdhd(scale):
    return full("mdhd", 0, 0, b"\0" * 8 + struct.pack(">I", scale) + b"\0" * 8)
init = box("ftyp", b"iso6\0\0\0\0") + box("moov", box("trak", tkhd(1) + box("mdia", mdhd(90000))) +
                                            box("mvex", full("trex", 0, 0, struct.pack(">IIIII", 1, 1, 3000, 0, 0))))
message = id3("AIGC", VALUE)
emsg = full("emsg", 1, 0, struct.pack(">IQII", 90000, 90000, 270000, 1) + b"https://aomedia.org/emsg/ID3\0\0" + message)
emsg0 = full("emsg", 0, 0, b"https://aomedia.org/emsg/ID3\0\0" + struct.pack(">IIII", 90000, 0, 90000, 2) + message)
moof = box("moof", full("mfhd", 0, 0, struct.pack(">I", 1)) +
           box("traf", full("tfhd", 0, 0x020000, struct.pack(">I", 1)) + full("tfdt", 1, 0, struct.pack(">Q", 180000)) +
               full("trun", 0, 0x000100, struct.pack(">I", 2) + struct.pack(">II", 3000, 3000))))
segment = box("styp", b"msdh\0\0\0\0") + emsg + emsg0 + moof + box("mdat", b"\0" * 16)
put("media-boxes", "init", init)
put("media-boxes", "segment", segment)
put("media-boxes", "box64", struct.pack(">I", 1) + b"free" + struct.pack(">Q", 0xFFFFFFFFFFFFFFF0))
put("media-boxes", "tiny-tkhd", box("moov", box("trak", box("tkhd", b"") + box("mdia", box("mdhd", b"")))))
riff = b"WAVE" + b"fmt " + struct.pack("<I", 16) + b"\0" * 16 + b"AIGC" + struct.pack("<I", len(VALUE)) + VALUE.encode()
put("media-boxes", "riff-aigc", b"RIFF" + struct.pack("<I", len(riff)) + riff)
put("media-boxes", "riff-huge-chunk", b"RIFF\0\0\0\0WAVEjunk" + struct.pack("<I", 0xFFFFFFFF) + b"AIGC")
