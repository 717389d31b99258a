import MediaIO

/// The `emsg` boxes (ISO/IEC 23009-1 5.10.3.3, versions 0 and 1) at the top level of fMP4 media
/// segments: where labelcast puts the AIGC ID3 tag in HLS fMP4 and DASH segments (the AOM "ID3
/// in CMAF" carriage, `SegmentMarking`). libavformat's mov demuxer skips them, so inspect reads
/// them itself, from untrusted bytes: every field is bounds-checked, nothing is trusted.
struct EmsgEvent: Equatable {
    var scheme: String
    var value: String
    var timescale: UInt32
    /// Version 1: absolute presentation time; version 0: delta from the segment's start.
    var presentationTime: UInt64
    var isDelta: Bool
    var duration: UInt32
    var id: UInt32
    var messageData: [UInt8]

    /// The event's start in seconds (version 1 only; nil for version 0 or a zero time scale).
    var startSeconds: Double? { isDelta || timescale == 0 ? nil : Double(presentationTime) / Double(timescale) }
    /// Seconds; nil when unknown (`0xFFFFFFFF`) or the time scale is zero.
    var durationSeconds: Double? { duration == UInt32.max || timescale == 0 ? nil : Double(duration) / Double(timescale) }

    /// Every top-level `emsg` in `bytes` (at most `limit`).
    static func all(in bytes: [UInt8], limit: Int = 4096) -> [EmsgEvent] {
        var out: [EmsgEvent] = []
        for box in BMFFBox.list(bytes) where box.type == "emsg" {
            if let e = parse(bytes, from: box.payloadOffset, to: box.end) { out.append(e) }
            if out.count >= limit { break }
        }
        return out
    }

    /// One box's payload (`bytes[start..<end]`); nil when it is cut short or of another version.
    static func parse(_ bytes: [UInt8], from start: Int, to end: Int) -> EmsgEvent? {
        guard start >= 0, end <= bytes.count, start + 4 <= end else { return nil }
        var o = start
        func u32() -> UInt32? {
            guard o + 4 <= end else { return nil }
            defer { o += 4 }
            return UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3])
        }
        func cString() -> String? {
            guard let zero = bytes[o..<end].firstIndex(of: 0) else { return nil }
            defer { o = zero + 1 }
            return String(decoding: bytes[o..<zero], as: UTF8.self)
        }
        let version = bytes[o]
        o += 4
        switch version {
        case 0:
            guard let scheme = cString(), let value = cString(), let scale = u32(), let delta = u32(), let duration = u32(), let id = u32() else { return nil }
            return EmsgEvent(scheme: scheme, value: value, timescale: scale, presentationTime: UInt64(delta), isDelta: true,
                             duration: duration, id: id, messageData: Array(bytes[o..<end]))
        case 1:
            guard let scale = u32(), let hi = u32(), let lo = u32(), let duration = u32(), let id = u32(),
                  let scheme = cString(), let value = cString() else { return nil }
            return EmsgEvent(scheme: scheme, value: value, timescale: scale, presentationTime: UInt64(hi) << 32 | UInt64(lo), isDelta: false,
                             duration: duration, id: id, messageData: Array(bytes[o..<end]))
        default:
            return nil
        }
    }
}
