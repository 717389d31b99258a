/// ISO base media file format (MP4) boxes, just enough to mark fragmented-MP4 segments after
/// the muxer wrote them: find the boxes, read a fragment's time span, insert an `emsg` before
/// the first `moof`, add a `udta` metadata tag to an init segment's `moov`. Pure functions on
/// bytes; no FFmpeg.
public struct BMFFBox: Sendable, Equatable {
    /// The four-character type, e.g. `moof`.
    public let type: String
    /// Where the box starts (its size field) in the buffer it was read from.
    public let offset: Int
    /// The whole box's size, header included.
    public let size: Int
    /// The header's size: 8, or 16 with a 64-bit size.
    public let headerSize: Int

    public var payloadOffset: Int { offset + headerSize }
    public var end: Int { offset + size }

    /// The boxes one after the other in `bytes[range]` (the top level when no range is given);
    /// stops at the first box whose size does not fit.
    public static func list(_ bytes: [UInt8], in range: Range<Int>? = nil) -> [BMFFBox] {
        let r = range ?? 0..<bytes.count
        var boxes: [BMFFBox] = []
        var o = r.lowerBound
        while o + 8 <= r.upperBound {
            var size = Int(readU32(bytes, o))
            var header = 8
            if size == 1 {
                guard o + 16 <= r.upperBound else { break }
                // A 64-bit size from the input may exceed Int.max: no such box fits.
                guard let large = Int(exactly: readU64(bytes, o + 8)) else { break }
                size = large
                header = 16
            } else if size == 0 {
                size = r.upperBound - o
            }
            // `size <= upper - o`, not `o + size <= upper`: the sum can overflow.
            guard size >= header, size <= r.upperBound - o else { break }
            let type = String(decoding: bytes[(o + 4)..<(o + 8)], as: UTF8.self)
            boxes.append(BMFFBox(type: type, offset: o, size: size, headerSize: header))
            o += size
        }
        return boxes
    }

    public static func topLevel(_ bytes: [UInt8]) -> [BMFFBox] { list(bytes) }

    /// The child boxes of a container box (`moov`, `trak`, `moof`…); `skip` bytes of payload
    /// come first (4 for a full box such as `meta`).
    public func children(_ bytes: [UInt8], skip: Int = 0) -> [BMFFBox] {
        guard payloadOffset + skip <= end else { return [] }
        return BMFFBox.list(bytes, in: (payloadOffset + skip)..<end)
    }

    /// The first box of each type along `path` (e.g. `["moov", "trak"]`).
    public static func find(_ path: [String], in bytes: [UInt8], within parent: BMFFBox? = nil) -> BMFFBox? {
        var current = parent
        for type in path {
            let boxes = current.map { $0.children(bytes) } ?? list(bytes)
            guard let next = boxes.first(where: { $0.type == type }) else { return nil }
            current = next
        }
        return current
    }

    // MARK: reading times

    /// Per track ID, the media timescale (`mdhd`) and the default sample duration (`trex`) of
    /// an init segment (or a whole MP4's `moov`).
    public static func trackTimescales(initSegment bytes: [UInt8]) -> [UInt32: (timescale: UInt32, defaultDuration: UInt32)] {
        guard let moov = find(["moov"], in: bytes) else { return [:] }
        var result: [UInt32: (timescale: UInt32, defaultDuration: UInt32)] = [:]
        var trex: [UInt32: UInt32] = [:]
        if let mvex = moov.children(bytes).first(where: { $0.type == "mvex" }) {
            for t in mvex.children(bytes) where t.type == "trex" && t.size >= 32 {
                trex[readU32(bytes, t.payloadOffset + 4)] = readU32(bytes, t.payloadOffset + 12)
            }
        }
        for trak in moov.children(bytes) where trak.type == "trak" {
            guard let tkhd = trak.children(bytes).first(where: { $0.type == "tkhd" }),
                  let mdhd = find(["mdia", "mdhd"], in: bytes, within: trak) else { continue }
            // Empty boxes from a damaged or hostile file: nothing to read (no byte past the end).
            guard tkhd.size > tkhd.headerSize, mdhd.size > mdhd.headerSize else { continue }
            let tkhdV1 = bytes[tkhd.payloadOffset] == 1
            let trackID = readU32(bytes, tkhd.payloadOffset + 4 + (tkhdV1 ? 16 : 8))
            let mdhdV1 = bytes[mdhd.payloadOffset] == 1
            let timescale = readU32(bytes, mdhd.payloadOffset + 4 + (mdhdV1 ? 16 : 8))
            result[trackID] = (timescale, trex[trackID] ?? 0)
        }
        return result
    }

    /// The time span of a media segment, in seconds: the earliest `tfdt` over its track
    /// fragments to the latest fragment end (base time + the samples' durations), with each
    /// track's timescale from `tracks` (the init segment's) or from the segment's own `sidx`.
    public static func segmentSpan(_ bytes: [UInt8], tracks: [UInt32: (timescale: UInt32, defaultDuration: UInt32)]) -> (start: Double, end: Double)? {
        let top = list(bytes)
        var sidxScale: UInt32? = nil
        if let sidx = top.first(where: { $0.type == "sidx" }), sidx.size >= 20 { sidxScale = readU32(bytes, sidx.payloadOffset + 8) }
        var start = Double.infinity, end = -Double.infinity
        for moof in top where moof.type == "moof" {
            for traf in moof.children(bytes) where traf.type == "traf" {
                let kids = traf.children(bytes)
                guard let tfhd = kids.first(where: { $0.type == "tfhd" }), let tfdt = kids.first(where: { $0.type == "tfdt" }) else { continue }
                let flags = readU32(bytes, tfhd.payloadOffset) & 0xFFFFFF
                let trackID = readU32(bytes, tfhd.payloadOffset + 4)
                var o = tfhd.payloadOffset + 8
                if flags & 0x01 != 0 { o += 8 }
                if flags & 0x02 != 0 { o += 4 }
                var defaultDuration = tracks[trackID]?.defaultDuration ?? 0
                if flags & 0x08 != 0 { defaultDuration = readU32(bytes, o) }
                guard let timescale = tracks[trackID]?.timescale ?? sidxScale, timescale > 0, tfdt.size > tfdt.headerSize else { continue }
                let base = bytes[tfdt.payloadOffset] == 1 ? readU64(bytes, tfdt.payloadOffset + 4) : UInt64(readU32(bytes, tfdt.payloadOffset + 4))
                var duration: UInt64 = 0
                for trun in kids where trun.type == "trun" {
                    let tflags = readU32(bytes, trun.payloadOffset) & 0xFFFFFF
                    let count = Int(readU32(bytes, trun.payloadOffset + 4))
                    var p = trun.payloadOffset + 8
                    if tflags & 0x01 != 0 { p += 4 }
                    if tflags & 0x04 != 0 { p += 4 }
                    let perSample = [0x100, 0x200, 0x400, 0x800].filter { tflags & UInt32($0) != 0 }.count * 4
                    // Sums saturate and the sample loop stops at the box's end: the count and
                    // durations come from the input (a count of 2^32 must not mean 2^32 turns).
                    if tflags & 0x100 != 0 {
                        let fits = p + 4 <= trun.end ? (trun.end - p - 4) / perSample + 1 : 0
                        for i in 0..<min(count, fits) { duration = duration.addingReportingOverflow(UInt64(readU32(bytes, p + i * perSample))).partialValue }
                    } else {
                        let (product, overflow) = UInt64(count).multipliedReportingOverflow(by: UInt64(defaultDuration))
                        let (sum, o2) = duration.addingReportingOverflow(product)
                        duration = overflow || o2 ? UInt64.max : sum
                    }
                }
                let (last, overflow) = base.addingReportingOverflow(duration)
                start = min(start, Double(base) / Double(timescale))
                end = max(end, (overflow ? Double(base) + Double(duration) : Double(last)) / Double(timescale))
            }
        }
        return start.isFinite ? (start, max(start, end)) : nil
    }

    // MARK: writing

    /// An `emsg` box, version 1 (absolute presentation time, as the AOM "ID3 in CMAF" spec
    /// requires): ISO/IEC 23009-1 5.10.3.3.
    public static func emsg(schemeIDURI: String, value: String, timescale: UInt32, presentationTime: UInt64,
                            eventDuration: UInt32, id: UInt32, messageData: [UInt8]) -> [UInt8] {
        var body: [UInt8] = [1, 0, 0, 0]
        body += u32(timescale) + u64(presentationTime) + u32(eventDuration) + u32(id)
        body += Array(schemeIDURI.utf8) + [0] + Array(value.utf8) + [0]
        body += messageData
        return u32(UInt32(8 + body.count)) + Array("emsg".utf8) + body
    }

    /// `bytes` with `boxes` inserted just before the first `moof` (after `styp` and `sidx`),
    /// where ISO/IEC 23009-1 puts event messages. A `sidx` in front gets its first offset
    /// moved on by the inserted size, so its references still point at the fragments; a track
    /// fragment that addresses its data from the file start (`base_data_offset`) gets it moved
    /// too. Nil when the segment has no `moof`.
    public static func inserting(_ boxes: [UInt8], beforeFirstMoofIn bytes: [UInt8]) -> [UInt8]? {
        let top = list(bytes)
        guard let moof = top.first(where: { $0.type == "moof" }) else { return nil }
        var out: [UInt8] = []
        // One allocation for the result, with the room a later step appends into (the C2PA box).
        out.reserveCapacity(bytes.count + boxes.count + SegmentedOutput.appendRoom)
        out.append(contentsOf: bytes[..<moof.offset])
        for sidx in top where sidx.type == "sidx" && sidx.end <= moof.offset {
            // first_offset counts from the end of this sidx to the first referenced byte.
            let version = out[sidx.payloadOffset]
            let at = sidx.payloadOffset + 4 + 8 + (version == 0 ? 4 : 8)
            if version == 0 {
                put(&out, at, u32(readU32(out, at) &+ UInt32(boxes.count)))
            } else {
                put(&out, at, u64(readU64(out, at) &+ UInt64(boxes.count)))
            }
        }
        out += boxes
        var rest = Array(bytes[moof.offset...])
        // Absolute data offsets (rare: FFmpeg's fragmenting writes default-base-is-moof).
        for m in list(rest) where m.type == "moof" {
            for traf in m.children(rest) where traf.type == "traf" {
                guard let tfhd = traf.children(rest).first(where: { $0.type == "tfhd" }),
                      readU32(rest, tfhd.payloadOffset) & 0x01 != 0 else { continue }
                let at = tfhd.payloadOffset + 8
                put(&rest, at, u64(readU64(rest, at) &+ UInt64(boxes.count)))
            }
        }
        out.append(contentsOf: rest)
        return out
    }

    /// An init segment with a metadata tag `key` = `value` in its `moov`, written as FFmpeg's
    /// `use_metadata_tags` writes it (`udta`/`meta` with an `mdta` handler, `keys` and `ilst`),
    /// which ffprobe and players read back as a container tag. Nil when there is no `moov`.
    /// An init segment has no chunk offsets to fix: its tracks are empty.
    public static func addingMetadata(key: String, value: String, toInit bytes: [UInt8]) -> [UInt8]? {
        guard let moov = list(bytes).first(where: { $0.type == "moov" }), moov.headerSize == 8 else { return nil }
        let hdlr = box("hdlr", [0, 0, 0, 0] + u32(0) + Array("mdta".utf8) + [UInt8](repeating: 0, count: 12) + [0])
        let keyBytes = Array(key.utf8)
        let keys = box("keys", [0, 0, 0, 0] + u32(1) + u32(UInt32(8 + keyBytes.count)) + Array("mdta".utf8) + keyBytes)
        let data = box("data", u32(1) + u32(0) + Array(value.utf8))  // type 1: UTF-8
        let ilst = box("ilst", u32(UInt32(8 + data.count)) + u32(1) + data)  // an item per key index, from 1
        let meta = box("meta", [0, 0, 0, 0] + hdlr + keys + ilst)
        let udta = box("udta", meta)
        var out = Array(bytes[..<moov.end])
        put(&out, moov.offset, u32(UInt32(moov.size + udta.count)))
        out += udta
        out += bytes[moov.end...]
        return out
    }

    // MARK: bytes

    static func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        u32(UInt32(8 + payload.count)) + Array(type.utf8) + payload
    }

    static func readU32(_ b: [UInt8], _ o: Int) -> UInt32 {
        guard o + 4 <= b.count else { return 0 }
        return UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }

    static func readU64(_ b: [UInt8], _ o: Int) -> UInt64 {
        UInt64(readU32(b, o)) << 32 | UInt64(readU32(b, o + 4))
    }

    static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    static func u64(_ v: UInt64) -> [UInt8] { u32(UInt32(v >> 32)) + u32(UInt32(v & 0xFFFF_FFFF)) }

    static func put(_ b: inout [UInt8], _ o: Int, _ v: [UInt8]) {
        for (i, x) in v.enumerated() { b[o + i] = x }
    }
}
