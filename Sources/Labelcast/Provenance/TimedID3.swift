/// ID3v2.4 tags for timed metadata in MPEG-TS (the form HLS and broadcast players read from a
/// `timed_id3` data stream): one TXXX frame, description `AIGC`, the Appendix E JSON as value.
public enum TimedID3 {
    /// A complete ID3v2.4 tag with one user-defined text frame (UTF-8).
    public static func tag(description: String, value: String) -> [UInt8] {
        var frameBody: [UInt8] = [0x03] // text encoding: UTF-8
        frameBody += Array(description.utf8) + [0x00]
        frameBody += Array(value.utf8)
        var frame = Array("TXXX".utf8) + syncsafe(frameBody.count) + [0x00, 0x00]
        frame += frameBody
        // "ID3", version 4.0, no flags, then the tag size (without this header) as syncsafe.
        return Array("ID3".utf8) + [0x04, 0x00, 0x00] + syncsafe(frame.count) + frame
    }

    /// Reads back the value of the first TXXX frame with `description` (for tests and tools).
    ///
    /// Also takes a tag whose 10-byte header is cut short: FFmpeg 5.1's MPEG-TS demuxer hands
    /// a `timed_id3` packet over without the header's first 6 bytes ("ID3", version, flags).
    /// Then the frames are read from the first `TXXX` to the end.
    public static func textValue(in tag: [UInt8], description: String) -> String? {
        var i: Int, end: Int
        if tag.count >= 10, tag[0] == 0x49, tag[1] == 0x44, tag[2] == 0x33 {
            end = min(tag.count, 10 + unsyncsafe(tag[6..<10]))
            i = 10
        } else if let start = firstFrame(in: tag) {
            i = start
            end = tag.count
        } else {
            return nil
        }
        while i + 10 <= end {
            let id = String(decoding: tag[i..<(i + 4)], as: UTF8.self)
            let size = unsyncsafe(tag[(i + 4)..<(i + 8)])
            let body = Array(tag[(i + 10)..<min(end, i + 10 + size)])
            if id == "TXXX", body.count > 1, let zero = body[1...].firstIndex(of: 0) {
                if String(decoding: body[1..<zero], as: UTF8.self) == description {
                    return String(decoding: body[(zero + 1)...], as: UTF8.self)
                }
            }
            if size == 0 { break }
            i += 10 + size
        }
        return nil
    }

    private static func firstFrame(in bytes: [UInt8]) -> Int? {
        let txxx: [UInt8] = Array("TXXX".utf8)
        guard bytes.count >= 14 else { return nil }
        for i in 0...(min(bytes.count, 64) - 4) where Array(bytes[i..<(i + 4)]) == txxx { return i }
        return nil
    }

    /// 28-bit size in four bytes of seven bits (ID3's "syncsafe" integer).
    static func syncsafe(_ n: Int) -> [UInt8] {
        [UInt8((n >> 21) & 0x7F), UInt8((n >> 14) & 0x7F), UInt8((n >> 7) & 0x7F), UInt8(n & 0x7F)]
    }

    static func unsyncsafe(_ b: ArraySlice<UInt8>) -> Int {
        b.reduce(0) { ($0 << 7) | Int($1 & 0x7F) }
    }
}
