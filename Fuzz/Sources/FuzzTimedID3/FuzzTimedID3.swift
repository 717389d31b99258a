// libFuzzer target: `TimedID3.textValue`, which reads the AIGC TXXX frame out of MPEG-TS
// `timed_id3` packets and fMP4 `emsg` message data, both straight from the input.
//
// Every input is read as a packet as is (the whole tag, or FFmpeg 5.1's form without the first
// 6 header bytes) for two descriptions. Then the round trip: the input split at its first NUL
// into a description and a value, written with `TimedID3.tag` and read back — the value must
// come back unchanged, also from the header-less form the TS demuxer hands over, and also with
// the input's bytes appended after the tag (what follows a tag in a packet is not read).
@testable import Labelcast

@_cdecl("LLVMFuzzerTestOneInput")
public func labelcastFuzzTimedID3(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = TimedID3.textValue(in: bytes, description: "AIGC")
    _ = TimedID3.textValue(in: bytes, description: "")
    if bytes.count > 6 { _ = TimedID3.textValue(in: Array(bytes.dropFirst(6)), description: "AIGC") }

    let zero = bytes.firstIndex(of: 0) ?? min(4, bytes.count)
    let description = String(decoding: bytes[..<zero], as: UTF8.self)
    guard !description.utf8.contains(0) else { return 0 }
    let value = String(decoding: bytes[min(bytes.count, zero + 1)...], as: UTF8.self)
    let tag = TimedID3.tag(description: description, value: value)
    func fail(_ m: String) -> Never {
        fatalError("fuzz-timed-id3: \(m) (description \(description.debugDescription.prefix(80)), value \(value.debugDescription.prefix(200)))")
    }
    if TimedID3.textValue(in: tag, description: description) != value { fail("round trip changes the value") }
    if TimedID3.textValue(in: tag + bytes, description: description) != value { fail("bytes after the tag change the value") }
    // The TS demuxer's form: no "ID3", version, flags; read from the first TXXX to the end.
    // (The frame starts at byte 10, so the search inside the first 64 bytes finds it.)
    if TimedID3.textValue(in: Array(tag.dropFirst(6)), description: description) != value { fail("header-less round trip changes the value") }
    return 0
}
