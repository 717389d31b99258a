/// Access units of the NAL-unit codecs (H.264, HEVC) as the two container families carry
/// them: Annex B (start codes: MPEG-TS, raw .h264/.hevc) and length-prefixed NAL units (MP4,
/// Matroska, FLV, with the parameter sets in a decoder configuration record: `avcC`, `hvcC`).
/// A packet copy (`--copy-unlabeled`) must hand the muxer every packet in the one form its
/// stream declares, whichever form the input and the encoder use.
public enum NALUnits {
    /// Whether the bytes start with an Annex B start code (00 00 01 or 00 00 00 01).
    public static func isAnnexB(_ b: [UInt8]) -> Bool {
        b.count >= 3 && b[0] == 0 && b[1] == 0 && (b[2] == 1 || (b.count >= 4 && b[2] == 0 && b[3] == 1))
    }

    /// The NAL units of an Annex B byte stream, without their start codes (trailing zero
    /// bytes before the next start code are not part of a NAL unit).
    public static func splitAnnexB(_ b: [UInt8]) -> [ArraySlice<UInt8>] {
        var starts: [(code: Int, payload: Int)] = []
        var i = 0
        let n = b.count
        while i + 2 < n {
            if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 {
                starts.append((i, i + 3))
                i += 3
            } else {
                i += 1
            }
        }
        var out: [ArraySlice<UInt8>] = []
        for (k, s) in starts.enumerated() {
            var end = k + 1 < starts.count ? starts[k + 1].code : n
            while end > s.payload && b[end - 1] == 0 { end -= 1 }
            if end > s.payload { out.append(b[s.payload..<end]) }
        }
        return out
    }

    /// `count` NAL units each behind a 16-bit length, as decoder configuration records
    /// (`avcC`, `hvcC`) list their parameter sets, read from `i` on; `i` ends past the last.
    /// Nil when a length is zero or runs past the end.
    public static func readSized(_ b: [UInt8], at i: inout Int, count: Int) -> [[UInt8]]? {
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            guard i + 2 <= b.count else { return nil }
            let n = Int(b[i]) << 8 | Int(b[i + 1])
            i += 2
            guard n > 0, i + n <= b.count else { return nil }
            out.append(Array(b[i..<(i + n)]))
            i += n
        }
        return out
    }

    /// The NAL units of a length-prefixed access unit; nil when the lengths do not tile it.
    public static func splitLengthPrefixed(_ b: [UInt8], lengthSize: Int) -> [ArraySlice<UInt8>]? {
        guard (1...4).contains(lengthSize) else { return nil }
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        while i < b.count {
            guard i + lengthSize <= b.count else { return nil }
            var len = 0
            for k in 0..<lengthSize { len = len << 8 | Int(b[i + k]) }
            i += lengthSize
            guard len > 0, i + len <= b.count else { return nil }
            out.append(b[i..<(i + len)])
            i += len
        }
        return out
    }

    public static func annexB<S: Collection>(_ nals: S) -> [UInt8] where S.Element == ArraySlice<UInt8> {
        var out: [UInt8] = []
        out.reserveCapacity(nals.reduce(0) { $0 + $1.count + 4 })
        for nal in nals { out += [0, 0, 0, 1]; out += nal }
        return out
    }

    public static func lengthPrefixed<S: Collection>(_ nals: S) -> [UInt8] where S.Element == ArraySlice<UInt8> {
        var out: [UInt8] = []
        out.reserveCapacity(nals.reduce(0) { $0 + $1.count + 4 })
        for nal in nals {
            let n = UInt32(nal.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            out += nal
        }
        return out
    }
}
