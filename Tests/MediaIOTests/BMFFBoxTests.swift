import Foundation
import Testing
@testable import MediaIO

/// The box edits that mark fMP4 segments, on a segment built here byte by byte: the emsg goes
/// in before the moof, the sidx still points at the moof, and the fragment's time span reads
/// back from tfdt and the sample durations.
@Suite struct BMFFBoxTests {
    /// styp, a version-0 sidx (timescale 90000, first offset 0, one reference of moof+mdat),
    /// moof (tfhd with default-base-is-moof and a default duration of 3000, tfdt version 1 at
    /// 90000, a trun of 30 samples) and an mdat of 100 bytes.
    static func segment() -> [UInt8] {
        let styp = BMFFBox.box("styp", Array("msdh".utf8) + BMFFBox.u32(0) + Array("msdhmsix".utf8))
        let tfhd = BMFFBox.box("tfhd", BMFFBox.u32(0x020008) + BMFFBox.u32(1) + BMFFBox.u32(3000))
        let tfdt = BMFFBox.box("tfdt", [1, 0, 0, 0] + BMFFBox.u64(90000))
        let trun = BMFFBox.box("trun", BMFFBox.u32(0x000001) + BMFFBox.u32(30) + BMFFBox.u32(0))
        let traf = BMFFBox.box("traf", tfhd + tfdt + trun)
        let moof = BMFFBox.box("moof", BMFFBox.box("mfhd", BMFFBox.u32(0) + BMFFBox.u32(1)) + traf)
        let mdat = BMFFBox.box("mdat", [UInt8](repeating: 7, count: 100))
        let reference = BMFFBox.u32(UInt32(moof.count + mdat.count)) + BMFFBox.u32(90000) + BMFFBox.u32(0x9000_0000)
        let sidx = BMFFBox.box("sidx", BMFFBox.u32(0) + BMFFBox.u32(1) + BMFFBox.u32(90000) + BMFFBox.u32(90000) + BMFFBox.u32(0)
                                   + [0, 0] + [0, 1] + reference)
        return styp + sidx + moof + mdat
    }

    @Test func theFragmentSpanComesFromTfdtAndTheSampleDurations() throws {
        let span = try #require(BMFFBox.segmentSpan(Self.segment(), tracks: [1: (90000, 0)]))
        #expect(span.start == 1.0 && abs(span.end - 2.0) < 1e-9, "\(span)")
        // Without the init segment's time scale, the sidx's is used.
        let fromSidx = try #require(BMFFBox.segmentSpan(Self.segment(), tracks: [:]))
        #expect(fromSidx.start == 1.0)
    }

    @Test func anEmsgGoesBeforeTheMoofAndTheSidxStillPointsAtIt() throws {
        let original = Self.segment()
        let emsg = BMFFBox.emsg(schemeIDURI: "https://aomedia.org/emsg/ID3", value: "", timescale: 90000, presentationTime: 90000,
                                eventDuration: 45000, id: 7, messageData: Array("ID3-bytes".utf8))
        let marked = try #require(BMFFBox.inserting(emsg, beforeFirstMoofIn: original))
        let boxes = BMFFBox.topLevel(marked)
        #expect(boxes.map(\.type) == ["styp", "sidx", "emsg", "moof", "mdat"])
        let sidx = boxes[1], moof = boxes[3]
        let firstOffset = Int(BMFFBox.readU32(marked, sidx.payloadOffset + 16))
        #expect(sidx.end + firstOffset == moof.offset, "sidx points at \(sidx.end + firstOffset), moof at \(moof.offset)")
        // The emsg fields, version 1, in the order ISO/IEC 23009-1 gives them.
        let e = boxes[2]
        #expect(marked[e.payloadOffset] == 1)
        #expect(BMFFBox.readU32(marked, e.payloadOffset + 4) == 90000)
        #expect(BMFFBox.readU64(marked, e.payloadOffset + 8) == 90000)
        #expect(BMFFBox.readU32(marked, e.payloadOffset + 16) == 45000 && BMFFBox.readU32(marked, e.payloadOffset + 20) == 7)
        let tail = Array(marked[(e.payloadOffset + 24)..<e.end])
        #expect(tail == Array("https://aomedia.org/emsg/ID3".utf8) + [0, 0] + Array("ID3-bytes".utf8))
        // Everything from the moof on is unchanged.
        #expect(Array(marked[moof.offset...]) == Array(original[BMFFBox.topLevel(original)[2].offset...]))
        #expect(SegmentedOutput.kind(of: marked) == .mediaSegment)
        #expect(BMFFBox.inserting(emsg, beforeFirstMoofIn: Array(original.prefix(24))) == nil)
    }
}
