import Testing
@testable import MediaIO

/// The two decoder configuration records, built here byte by byte as ISO/IEC 14496-15 lays them
/// out: the parameter sets come back in order, and a record whose lengths run past its end, or
/// name an empty unit, is refused rather than read short.
@Suite struct DecoderConfigurationTests {
    static let sps: [UInt8] = [0x67, 0x64, 0x00, 0x1F, 0xAC, 0xD9]
    static let pps: [UInt8] = [0x68, 0xEB, 0xE3, 0xCB]

    static func avcC(sps: [[UInt8]], pps: [[UInt8]]) -> [UInt8] {
        var b: [UInt8] = [1, 0x64, 0x00, 0x1F, 0xFF, 0xE0 | UInt8(sps.count)]
        for s in sps { b += [UInt8(s.count >> 8), UInt8(s.count & 0xFF)] + s }
        b.append(UInt8(pps.count))
        for p in pps { b += [UInt8(p.count >> 8), UInt8(p.count & 0xFF)] + p }
        return b + [0xFD, 0xF8, 0xF8, 0]   // chroma 4:2:0, 8-bit, no SPS extensions
    }

    @Test func avcCListsItsSetsInOrder() throws {
        let second: [UInt8] = [0x68, 0xCE, 0x3C, 0x80]
        let c = try #require(AVCConfiguration(avcC: Self.avcC(sps: [Self.sps], pps: [Self.pps, second])))
        #expect(c.sps == [Self.sps])
        #expect(c.pps == [Self.pps, second])
        #expect(c.lengthSize == 4)
        #expect(c.profile == 0x64 && c.level == 0x1F)
        #expect(AVCConfiguration(avcC: c.avcC) == c)
    }

    @Test func avcCWithABadLengthIsRefused() {
        var b = Self.avcC(sps: [Self.sps], pps: [Self.pps])
        b[7] = 0x40                               // SPS length 64: runs past the record
        #expect(AVCConfiguration(avcC: b) == nil)
        var z = Self.avcC(sps: [Self.sps], pps: [Self.pps])
        z[6] = 0; z[7] = 0                        // an empty SPS
        #expect(AVCConfiguration(avcC: z) == nil)
        #expect(AVCConfiguration(avcC: Array(Self.avcC(sps: [Self.sps], pps: [Self.pps]).prefix(12))) == nil)
    }

    @Test func readSizedStopsPastTheLastUnit() throws {
        let b: [UInt8] = [9, 0, 2, 0xAA, 0xBB, 0, 1, 0xCC, 7]
        var i = 1
        let units = try #require(NALUnits.readSized(b, at: &i, count: 2))
        #expect(units == [[0xAA, 0xBB], [0xCC]])
        #expect(i == 8)
        var j = 1
        #expect(NALUnits.readSized(b, at: &j, count: 3) == nil)
    }

    @Test func hvcCArraysComeBackWhole() throws {
        let vps: [UInt8] = [0x40, 0x01, 0x0C, 0x01]
        let sps: [UInt8] = [0x42, 0x01, 0x01, 0x01, 0x60]
        let pps: [UInt8] = [0x44, 0x01, 0xC1, 0x72]
        var b: [UInt8] = [1] + [UInt8](repeating: 0, count: 12)
        b += [0xF0, 0x00, 0xFC, 0xFD, 0xF8, 0xF8, 0x00, 0x00, 0x0F, 3]
        for (type, u) in [(UInt8(32), vps), (33, sps), (34, pps)] {
            b += [0x80 | type, 0, 1, UInt8(u.count >> 8), UInt8(u.count & 0xFF)] + u
        }
        let c = try #require(HEVCConfiguration(hvcC: b))
        #expect(c.arrays.map(\.type) == [32, 33, 34])
        #expect(c.arrays.map(\.units) == [[vps], [sps], [pps]])
        #expect(c.lengthSize == 4)
        var short = b
        short.removeLast()
        #expect(HEVCConfiguration(hvcC: short) == nil)
    }
}
