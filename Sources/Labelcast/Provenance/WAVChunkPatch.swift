import Foundation

/// The AIGC field in a WAV file, where TC260's audio practice guide puts it (LABELS.md, "Where
/// the AIGC field goes"): a RIFF chunk named `AIGC` holding the GB 45438 JSON value, and the
/// same value in a `LIST`/`INFO` sub-chunk `AIGC`, which FFmpeg, ffprobe and most tag readers
/// show as the file's `AIGC` tag.
///
/// FFmpeg's wav muxer writes only the INFO items it knows (INAM, ICMT, ISFT…) and writes them
/// before the audio, before labelcast knows whether a live-switched run carries anything
/// synthetic. So both chunks are appended after the trailer, behind the `data` chunk, and the
/// RIFF size is updated: RIFF allows chunks in any order and readers skip what they do not know.
/// The audio bytes are not touched.
enum WAVChunkPatch {
    static let chunkID = "AIGC"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Appends the `LIST`/`INFO` and `AIGC` chunks carrying `value` to the WAV file at `path`.
    static func apply(file path: String, value: String) throws {
        guard let handle = FileHandle(forUpdatingAtPath: path) else { throw Failure(description: "cannot open \(path) to write its AIGC chunk") }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 12))
        guard head.count == 12, Array(head[8..<12]) == Array("WAVE".utf8) else {
            throw Failure(description: "\(path) is not a WAV file: no AIGC chunk written")
        }
        let riff = Array(head[0..<4])
        guard riff == Array("RIFF".utf8) || riff == Array("RF64".utf8) else {
            throw Failure(description: "\(path) is neither RIFF nor RF64: no AIGC chunk written")
        }
        var end = try handle.seekToEnd()
        if end % 2 == 1 {
            // Every chunk starts on an even offset: pad the one before.
            handle.write(Data([0]))
            end += 1
        }
        let text = Array(value.utf8)
        // INFO strings end in NUL; the top-level chunk is the value as it is.
        let list = chunk("LIST", Array("INFO".utf8) + chunk(chunkID, text + [0]))
        let appended = list + chunk(chunkID, text)
        handle.write(Data(appended))
        let size = end + UInt64(appended.count) - 8
        if riff == Array("RIFF".utf8) {
            guard size <= UInt64(UInt32.max) else { throw Failure(description: "\(path) is too large for a RIFF size: no AIGC chunk written") }
            try handle.seek(toOffset: 4)
            handle.write(Data(le32(UInt32(size))))
        } else {
            // RF64: the size lives in the ds64 chunk that follows the header (EBU Tech 3306).
            try handle.seek(toOffset: 12)
            let ds64 = [UInt8](handle.readData(ofLength: 16))
            guard ds64.count == 16, Array(ds64[0..<4]) == Array("ds64".utf8) else {
                throw Failure(description: "\(path) is RF64 without a ds64 chunk: no AIGC chunk written")
            }
            try handle.seek(toOffset: 20)
            handle.write(Data(le32(UInt32(truncatingIfNeeded: size)) + le32(UInt32(truncatingIfNeeded: size >> 32))))
        }
    }

    /// A chunk: four-character ID, little-endian size, the bytes, a pad byte when odd.
    static func chunk(_ id: String, _ body: [UInt8]) -> [UInt8] {
        var out = Array(id.utf8) + le32(UInt32(body.count)) + body
        if body.count % 2 == 1 { out.append(0) }
        return out
    }

    private static func le32(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }
}
