// libFuzzer target: the byte-level readers `labelcast inspect` runs on media itself rather than
// leaving to libavformat: ISO BMFF boxes of HLS fMP4 init and media segments (`BMFFBox.list`,
// `find`, `trackTimescales`, `segmentSpan`), their `emsg` events (`EmsgEvent.all`, then the
// ID3 inside), and the top-level RIFF `AIGC` chunk of a WAV file
// (`ContainerMarkingScan.riffAIGCChunk`).
//
// The same bytes go to each reader. Checked: no crash, no out-of-bounds read (ASan), no
// overflow trap; boxes lie inside the buffer and in order; a segment span is finite with
// start ≤ end; an emsg's message data lies within its box; the RIFF reader asks only for
// ranges it may (offsets grow, bounded count) and returns at most 1 MiB.
import Foundation
@testable import Labelcast
import MediaIO

@_cdecl("LLVMFuzzerTestOneInput")
public func labelcastFuzzMediaBoxes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    func fail(_ m: String) -> Never { fatalError("fuzz-media-boxes: \(m)") }
    var last = 0
    for box in BMFFBox.list(bytes) {
        if box.offset < last || box.end > bytes.count || box.size < box.headerSize { fail("box \(box) outside or out of order") }
        last = box.end
        for child in box.children(bytes) where child.offset < box.payloadOffset || child.end > box.end { fail("child \(child) outside \(box)") }
    }
    _ = BMFFBox.find(["moov", "trak", "mdia", "mdhd"], in: bytes)
    let tracks = BMFFBox.trackTimescales(initSegment: bytes)
    if let span = BMFFBox.segmentSpan(bytes, tracks: tracks) {
        if !span.start.isFinite || !span.end.isFinite || span.start > span.end { fail("span \(span)") }
    }
    // The same bytes as a media segment after a one-track init with timescale 90000.
    if let span = BMFFBox.segmentSpan(bytes, tracks: [1: (90_000, 3000)]) {
        if !span.start.isFinite || !span.end.isFinite || span.start > span.end { fail("span \(span)") }
    }
    for e in EmsgEvent.all(in: bytes) {
        if e.messageData.count > bytes.count { fail("emsg data larger than the input") }
        _ = TimedID3.textValue(in: e.messageData, description: AIGCMetadata.tagName)
        _ = e.startSeconds
        _ = e.durationSeconds
    }
    var reads = 0
    let data = Data(bytes)
    let value = ContainerMarkingScan.riffAIGCChunk { offset, count in
        reads += 1
        if reads > 5000 { fail("RIFF reader read \(reads) times") }
        if count < 0 { fail("negative read size") }
        guard offset < UInt64(data.count) else { return Data() }
        let start = Int(offset)
        return data.subdata(in: start..<min(data.count, start + count))
    }
    if let value, value.utf8.count > 3 << 20 { fail("RIFF value of \(value.utf8.count) bytes") }
    return 0
}
