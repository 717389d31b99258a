import Foundation
import Testing
@testable import MediaIO

/// The SCTE-35 filter on transport streams built here packet by packet, as FFmpeg 5.1's MPEG-TS
/// writer lays them out (PAT, PMT with the data stream as 0x06, the section in a PES packet
/// with its PTS, adaptation-field stuffing). The expected sections and PMTs were made by
/// `Tests/Scripts/scte35.py` (its own CRC and bit packing), not by the code under test.
@Suite struct SCTE35TSFilterTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// splice_insert, event 1001, out of network, splice_time 223200, break 90000, pts_adjustment 0.
    static let cue = hex("fc302500000000000000fff01405000003e97feffe000367e0fe00015f9001e90101000024b1e805")
    /// The same with pts_adjustment 37800.
    static let cueShifted = hex("fc30250000000093a800fff01405000003e97feffe000367e0fe00015f9001e90101000046504457")
    /// splice_insert, event 1002, 24 avail descriptors (275 bytes), pts_adjustment 2^33 − 100.
    static let longCue = hex("fc31100001ffffff9c00fff00f05000003ea7f4fffffffffce01ea010100f0000843554549a0000000000843554549a0000001000843554549a0000002000843554549a0000003000843554549a0000004000843554549a0000005000843554549a0000006000843554549a0000007000843554549a0000008000843554549a0000009000843554549a000000a000843554549a000000b000843554549a000000c000843554549a000000d000843554549a000000e000843554549a000000f000843554549a0000010000843554549a0000011000843554549a0000012000843554549a0000013000843554549a0000014000843554549a0000015000843554549a0000016000843554549a0000017ab85629f")
    /// The same with pts_adjustment 200 (2^33 − 100 + 300, modulo 2^33).
    static let longCueShifted = hex("fc31100000000000c800fff00f05000003ea7f4fffffffffce01ea010100f0000843554549a0000000000843554549a0000001000843554549a0000002000843554549a0000003000843554549a0000004000843554549a0000005000843554549a0000006000843554549a0000007000843554549a0000008000843554549a0000009000843554549a000000a000843554549a000000b000843554549a000000c000843554549a000000d000843554549a000000e000843554549a000000f000843554549a0000010000843554549a0000011000843554549a0000012000843554549a0000013000843554549a0000014000843554549a0000015000843554549a0000016000843554549a0000017365cc731")
    /// splice_insert, event 1003, 14 avail descriptors (175 bytes: one TS packet as a section, two as PES).
    static let midCue = hex("fc30ac00000000000000fff00f05000003eb7fcffe0006b3a001eb0101008c000843554549a0000000000843554549a0000001000843554549a0000002000843554549a0000003000843554549a0000004000843554549a0000005000843554549a0000006000843554549a0000007000843554549a0000008000843554549a0000009000843554549a000000a000843554549a000000b000843554549a000000c000843554549a000000dbffbe1ed")
    /// The same with pts_adjustment 37800.
    static let midCueShifted = hex("fc30ac0000000093a800fff00f05000003eb7fcffe0006b3a001eb0101008c000843554549a0000000000843554549a0000001000843554549a0000002000843554549a0000003000843554549a0000004000843554549a0000005000843554549a0000006000843554549a0000007000843554549a0000008000843554549a0000009000843554549a000000a000843554549a000000b000843554549a000000c000843554549a000000daa2a414f")
    /// Program 7's PMT as FFmpeg writes it: PCR PID 0x100, H.264 0x100, AAC 0x101, data 0x1F4 as 0x06.
    static let pmt = hex("02b01c0007c10000e100f0001be100f0000fe101f00006e1f4f000311d2d60")
    /// The same after the filter: 'CUEI' in the program loop, 0x1F4 as 0x86 with a cue_identifier_descriptor.
    static let pmtSCTE35 = hex("02b0250007c10000e100f0060504435545491be100f0000fe101f00086e1f4f0038a010180b75df2")

    // MARK: building a transport stream

    /// One TS packet; a payload shorter than 184 bytes is padded with adaptation-field stuffing,
    /// as FFmpeg's writer does.
    static func packet(pid: Int, start: Bool, cc: Int, _ payload: [UInt8]) -> [UInt8] {
        var p: [UInt8] = [0x47, (start ? 0x40 : 0) | UInt8(pid >> 8), UInt8(pid & 0xFF), 0x10 | UInt8(cc & 15)]
        if payload.count < 184 {
            p[3] |= 0x20
            let afLength = 183 - payload.count
            p.append(UInt8(afLength))
            if afLength > 0 { p += [0x00] + [UInt8](repeating: 0xFF, count: afLength - 1) }
        }
        return p + payload
    }

    /// A table section after a pointer_field of 0, stuffed with 0xFF.
    static func sectionPacket(pid: Int, cc: Int, _ section: [UInt8]) -> [UInt8] {
        [0x47, 0x40 | UInt8(pid >> 8), UInt8(pid & 0xFF), 0x10 | UInt8(cc & 15), 0] + section + [UInt8](repeating: 0xFF, count: 183 - section.count)
    }

    static func pat(cc: Int = 0) -> [UInt8] {
        var s: [UInt8] = [0x00, 0xB0, 13, 0x00, 0x01, 0xC1, 0, 0, 0x00, 0x07, 0xF0, 0x00]  // program 7 → PMT 0x1000
        let crc = MPEGCRC32.checksum(s)
        s += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        return sectionPacket(pid: 0, cc: cc, s)
    }

    /// A PES packet (stream id 0xFC, PTS only) carrying `data`, as TS packets on `pid`.
    static func pes(pid: Int, pts: Int64, cc: Int, _ data: [UInt8]) -> [[UInt8]] {
        let t: [UInt8] = [0x21 | UInt8((pts >> 29) & 0x0E), UInt8((pts >> 22) & 0xFF), UInt8((pts >> 14) & 0xFE) | 1,
                          UInt8((pts >> 7) & 0xFF), UInt8((pts << 1) & 0xFE) | 1]
        let length = 3 + 5 + data.count
        var bytes: [UInt8] = [0, 0, 1, 0xFC, UInt8(length >> 8), UInt8(length & 0xFF), 0x80, 0x80, 5] + t + data
        var out: [[UInt8]] = []
        var first = true
        while !bytes.isEmpty {
            let chunk = Array(bytes.prefix(184))
            bytes.removeFirst(chunk.count)
            out.append(packet(pid: pid, start: first, cc: cc + out.count, chunk))
            first = false
        }
        return out
    }

    static func video(cc: Int) -> [UInt8] { packet(pid: 0x100, start: false, cc: cc, [UInt8](repeating: 0xAB, count: 184)) }

    static func run(_ filter: SCTE35TSFilter, _ stream: [UInt8], chunk: Int? = nil) -> [UInt8] {
        var out: [UInt8] = []
        let size = chunk ?? stream.count
        var i = 0
        while i < stream.count {
            let piece = Array(stream[i..<min(stream.count, i + size)])
            out += piece.withUnsafeBytes { filter.filter($0) }
            i += size
        }
        return out + filter.finish()
    }

    static func packets(_ bytes: [UInt8]) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: 188).map { Array(bytes[$0..<min(bytes.count, $0 + 188)]) }
    }

    // MARK: tests

    @Test func shiftingASectionChangesOnlyItsPtsAdjustmentAndCRC() throws {
        var s = try #require(SpliceInfoSection(Self.cue + [1, 2, 3]))
        #expect(s.bytes == Self.cue && s.crcIsValid && s.ptsAdjustment == 0 && s.commandType == 0x05 && !s.isEncrypted)
        s.shift(by: 37800)
        #expect(s.bytes == Self.cueShifted && s.crcIsValid)
        // 33-bit arithmetic: 2^33 − 100 + 300 wraps to 200.
        var long = try #require(SpliceInfoSection(Self.longCue))
        #expect(long.ptsAdjustment == (1 << 33) - 100)
        long.shift(by: 300)
        #expect(long.bytes == Self.longCueShifted)
        // Not a splice_info_section, or shorter than its section_length says.
        #expect(SpliceInfoSection([0x02] + Self.cue.dropFirst()) == nil)
        #expect(SpliceInfoSection(Array(Self.cue.dropLast())) == nil)
    }

    @Test func thePMTDeclaresTheStreamAsSCTE35() {
        #expect(SCTE35TSFilter.rewritePMT(Self.pmt, scte35PIDs: [0x1F4]) == Self.pmtSCTE35)
        // A PMT without the PID, or whose CRC is wrong, is left alone.
        #expect(SCTE35TSFilter.rewritePMT(Self.pmt, scte35PIDs: [0x1F5]) == nil)
        var broken = Self.pmt
        broken[broken.count - 1] ^= 1
        #expect(SCTE35TSFilter.rewritePMT(broken, scte35PIDs: [0x1F4]) == nil)
        // Already declared: stays as it is, with one CUEI and one cue_identifier_descriptor.
        let again = SCTE35TSFilter.rewritePMT(Self.pmtSCTE35, scte35PIDs: [0x1F4])
        #expect(again == Self.pmtSCTE35)
    }

    @Test func thePESBecomesTheSectionOnTheOutputClock() throws {
        let filter = SCTE35TSFilter(pids: [0x1F4])
        let mark = SCTE35TSFilter.noteInputPTS(223_200, on: Self.cue)
        #expect(mark.count == Self.cue.count + 9)
        var input = Self.pat() + Self.sectionPacket(pid: 0x1000, cc: 0, Self.pmt) + Self.video(cc: 0)
        input += Self.pes(pid: 0x1F4, pts: 261_000, cc: 3, mark).joined()
        input += Self.video(cc: 1)
        let out = Self.run(filter, input)
        #expect(out.count == input.count)
        let p = Self.packets(out), q = Self.packets(input)
        #expect(p[0] == q[0] && p[2] == q[2] && p[4] == q[4], "the other packets are untouched")
        #expect(p[1] == Self.sectionPacket(pid: 0x1000, cc: 0, Self.pmtSCTE35))
        // Section syntax: PUSI, payload only, pointer_field 0, the section moved by 261000 − 223200, 0xFF after it.
        #expect(p[3] == Self.sectionPacket(pid: 0x1F4, cc: 0, Self.cueShifted))
        #expect(filter.statistics == .init(sections: 1, retimed: 1, unadjusted: 0, pmts: 1))
    }

    @Test func aLongSectionSpansPacketsInOrderWithItsOwnContinuity() throws {
        let filter = SCTE35TSFilter(pids: [0x1F4])
        // 14 + 275 + 9 bytes of PES: two TS packets, a PAT between them (the writer's SI repeat).
        let long = Self.pes(pid: 0x1F4, pts: 300, cc: 9, SCTE35TSFilter.noteInputPTS(0, on: Self.longCue))
        #expect(long.count == 2)
        var input = Self.pat() + Self.sectionPacket(pid: 0x1000, cc: 0, Self.pmt)
        input += long[0] + Self.pat(cc: 1) + long[1]
        input += Self.pes(pid: 0x1F4, pts: 261_000, cc: 11, SCTE35TSFilter.noteInputPTS(223_200, on: Self.cue)).joined()
        let p = Self.packets(Self.run(filter, input))
        #expect(p.count == 6)
        let body = [0] + Self.longCueShifted  // pointer_field and the section, 276 bytes
        #expect(p[2] == [0x47, 0x41, 0xF4, 0x10] + body.prefix(184))
        #expect(p[3] == Self.pat(cc: 1), "packets between keep their place")
        #expect(p[4] == [0x47, 0x01, 0xF4, 0x11] + body.dropFirst(184) + [UInt8](repeating: 0xFF, count: 184 - (body.count - 184)))
        #expect(p[5] == Self.sectionPacket(pid: 0x1F4, cc: 2, Self.cueShifted), "continuity counts on from the filter's own packets")
    }

    @Test func aPacketTheSectionDoesNotNeedBecomesANullPacket() {
        let filter = SCTE35TSFilter(pids: [0x1F4])
        let pes = Self.pes(pid: 0x1F4, pts: 261_000, cc: 0, SCTE35TSFilter.noteInputPTS(223_200, on: Self.midCue))
        #expect(pes.count == 2)
        let input = Self.pat() + Self.sectionPacket(pid: 0x1000, cc: 0, Self.pmt) + pes.joined() + Self.video(cc: 0)
        let out = Self.run(filter, input)
        #expect(out.count == input.count, "byte positions kept")
        let p = Self.packets(out)
        #expect(p[2] == Self.sectionPacket(pid: 0x1F4, cc: 0, Self.midCueShifted))
        #expect(p[3] == [0x47, 0x1F, 0xFF, 0x10] + [UInt8](repeating: 0xFF, count: 184))
        #expect(p[4] == Self.video(cc: 0))
    }

    @Test func theOutputDoesNotDependOnHowTheWritesAreCut() {
        var input = Self.pat() + Self.sectionPacket(pid: 0x1000, cc: 0, Self.pmt)
        for k in 0..<3 {
            input += Self.video(cc: k)
            input += Self.pes(pid: 0x1F4, pts: 300 + Int64(k) * 9000, cc: k * 2, SCTE35TSFilter.noteInputPTS(0, on: Self.longCue)).joined()
        }
        let whole = Self.run(SCTE35TSFilter(pids: [0x1F4]), input)
        for chunk in [1, 100, 187, 189, 1000] {
            #expect(Self.run(SCTE35TSFilter(pids: [0x1F4]), input, chunk: chunk) == whole, "chunks of \(chunk)")
        }
        #expect(whole.count == input.count)
    }

    @Test func aSectionWithoutAnInputClockKeepsItsAdjustmentUntilOneIsKnown() throws {
        let filter = SCTE35TSFilter(pids: [0x1F4])
        var input = Self.pat() + Self.sectionPacket(pid: 0x1000, cc: 0, Self.pmt)
        input += Self.pes(pid: 0x1F4, pts: 261_000, cc: 0, SCTE35TSFilter.noteInputPTS(nil, on: Self.cue)).joined()
        input += Self.pes(pid: 0x1F4, pts: 261_000, cc: 1, SCTE35TSFilter.noteInputPTS(223_200, on: Self.cue)).joined()
        input += Self.pes(pid: 0x1F4, pts: 270_000, cc: 2, SCTE35TSFilter.noteInputPTS(nil, on: Self.cue)).joined()
        let p = Self.packets(Self.run(filter, input))
        #expect(p[2] == Self.sectionPacket(pid: 0x1F4, cc: 0, Self.cue), "nothing known yet: unchanged")
        #expect(p[3] == Self.sectionPacket(pid: 0x1F4, cc: 1, Self.cueShifted))
        #expect(p[4] == Self.sectionPacket(pid: 0x1F4, cc: 2, Self.cueShifted), "the last known shift")
        #expect(filter.statistics.retimed == 2 && filter.statistics.unadjusted == 1)
    }

    @Test func aSectionThatArrivedDamagedIsCarriedAsItCame() {
        let filter = SCTE35TSFilter(pids: [0x1F4])
        var damaged = Self.cue
        damaged[20] ^= 0x40
        var input = Self.pat() + Self.sectionPacket(pid: 0x1000, cc: 0, Self.pmt)
        input += Self.pes(pid: 0x1F4, pts: 261_000, cc: 0, SCTE35TSFilter.noteInputPTS(223_200, on: damaged)).joined()
        let p = Self.packets(Self.run(filter, input))
        #expect(p[2] == Self.sectionPacket(pid: 0x1F4, cc: 0, damaged), "its CRC still says it is damaged")
        #expect(filter.statistics.unadjusted == 1)
    }

    @Test func eachSCTE35StreamGetsAPIDTheWriterLeavesFree() {
        // Its input PID, when free.
        #expect(Muxer.scte35PIDs(ids: [0, 0, 500], scte35: [2], startPID: 0x100, pmtStartPID: 0x1000, programs: 1, m2ts: false) == [2: 500])
        // 0x101 is the audio stream's (index 1 of start PID 0x100): the next free one after the writer's.
        #expect(Muxer.scte35PIDs(ids: [0, 0, 0x101, 0], scte35: [2], startPID: 0x100, pmtStartPID: 0x1000, programs: 1, m2ts: false) == [2: 0x104])
        // A table PID, the PMT's, or one another SCTE-35 stream took.
        #expect(Muxer.scte35PIDs(ids: [0, 0x11, 0x1000, 0x1000], scte35: [1, 2, 3], startPID: 0x100, pmtStartPID: 0x1000, programs: 1, m2ts: false)
                == [1: 0x104, 2: 0x105, 3: 0x106])
        #expect(Muxer.integerOption("0x200") == 0x200 && Muxer.integerOption("512") == 512 && Muxer.integerOption(nil) == nil)
    }
}
