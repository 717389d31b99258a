import Testing
import Foundation
@testable import AudioMark
import MarkCore

@Suite struct PayloadCodecTests {
    let codec = PayloadCodec(key: .demo)

    /// Soft values for a codeword: +1 for bit 0, -1 for bit 1.
    func soft(_ coded: [UInt8], amplitude: Float = 1) -> [Float] { coded.map { $0 == 0 ? amplitude : -amplitude } }

    @Test func roundTripClean() {
        for id: UInt32 in [0, 1, 0xDEAD_BEEF, .max] {
            for synthetic in [true, false] {
                let p = WatermarkPayload(synthetic: synthetic, id: id)
                let coded = codec.encode(p)
                #expect(coded.count == PayloadCodec.codedBits)
                #expect(codec.decode(soft(coded)) == p)
            }
        }
    }

    @Test func correctsHardBitErrors() {
        let p = WatermarkPayload(id: 123_456_789)
        var s = soft(codec.encode(p))
        // 12 scattered hard errors (5%) are well within the code's free distance of 18 locally.
        for i in stride(from: 3, to: s.count, by: 18) { s[i] = -s[i] }
        #expect(codec.decode(s) == p)
    }

    @Test func correctsNoisySoftValues() {
        // Gaussian noise at Eb/N0 = 4 dB: the soft Viterbi decodes every trial.
        var g = KeyedGenerator(seed: [UInt8](repeating: 7, count: 32))
        let p = WatermarkPayload(id: 42)
        let clean = soft(codec.encode(p))
        let sigma = Float((Double(PayloadCodec.codedBits) / Double(PayloadCodec.infoBits) / (2 * pow(10, 0.4))).squareRoot())
        var ok = 0
        for _ in 0..<20 {
            let noisy = clean.map { v -> Float in
                let u1 = Double(g.next() >> 11 | 1) / Double(1 << 53), u2 = Double(g.next() >> 11) / Double(1 << 53)
                return v + sigma * Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
            }
            if codec.decode(noisy) == p { ok += 1 }
        }
        #expect(ok >= 19)
    }

    /// Bits (MSB first per hex digit, zero-padded to a whole digit) as hex, for the vectors.
    func hex(_ bits: [UInt8]) -> String {
        let padded = bits + [UInt8](repeating: 0, count: (4 - bits.count % 4) % 4)
        var out = ""
        for i in stride(from: 0, to: padded.count, by: 4) {
            var digit = 0
            for j in 0..<4 { digit = digit << 1 | Int(padded[i + j]) }
            out += String(digit, radix: 16)
        }
        return out
    }

    /// Known answers computed outside Swift (Python's hmac/hashlib): first 4 bytes of
    /// HMAC-SHA256(HMAC-SHA256(secret, "labelcast.audiomark.v1/payload-check"), flag || id BE).
    @Test func checkIsTruncatedHMACKnownAnswers() throws {
        #expect(codec.check(WatermarkPayload(synthetic: true, id: 0)) == 0x5AEB_D6AB)
        #expect(codec.check(WatermarkPayload(synthetic: true, id: 0xDEAD_BEEF)) == 0x9182_90C1)
        #expect(codec.check(WatermarkPayload(synthetic: false, id: 1)) == 0x036A_E54E)
        #expect(codec.check(WatermarkPayload(synthetic: true, id: .max)) == 0x5537_3F9B)
        let other = PayloadCodec(key: try WatermarkKey(secret: Array("another secret key".utf8)))
        #expect(other.check(WatermarkPayload(synthetic: true, id: 0xDEAD_BEEF)) == 0x41B0_98FB)
        // The information word: check and payload bits alternating, MSB first, the id's last bit last.
        #expect(hex(codec.infoBits(WatermarkPayload(synthetic: true, id: 0xDEAD_BEEF))) == "d657911cd355b5178")
    }

    /// Known answers of the 3GPP TS 25.212 rate-1/3, K=9 code (G0=557, G1=663, G2=711 octal,
    /// outputs G0 G1 G2 per input bit), from an independent textbook shift-register encoder in
    /// Python: the impulse response spells the three generators out, tap by tap.
    @Test func convolutionalCodeKnownAnswers() {
        let impulse = PayloadCodec.convolve([1] + [UInt8](repeating: 0, count: 64))
        #expect(impulse.count == 219)
        #expect(hex(impulse) == "eee566e" + String(repeating: "0", count: 48))
        let coded = codec.encode(WatermarkPayload(synthetic: true, id: 0xDEAD_BEEF))
        #expect(hex(coded) == "f34f5ee14e47855d5c242376dc9d445ca88b3fbeac756064592a29e")
    }

    @Test func checkRejectsCorruptionAndOtherKeys() throws {
        let p = WatermarkPayload(id: 99)
        let info = codec.infoBits(p)
        #expect(codec.payload(fromInfo: info) == p)
        // Flip any single information bit, re-encode: the check no longer matches.
        for i in [0, 1, 17, 32, 33, 40, 63, 64] {
            var bad = info
            bad[i] ^= 1
            #expect(codec.decode(soft(PayloadCodec.convolve(bad))) == nil)
        }
        // The check is not affine: for a CRC with a keyed final XOR, c(a) ^ c(b) ^ c(0) = c(a ^ b)
        // under every key, which is how such marks are forged. The MAC breaks that identity.
        let a = WatermarkPayload(id: 0x0000_00F0), b = WatermarkPayload(id: 0x0000_000F)
        #expect(codec.check(a) ^ codec.check(b) ^ codec.check(WatermarkPayload(id: 0)) != codec.check(WatermarkPayload(id: 0xFF)))
        // A codeword made under another key fails this key's check.
        let other = PayloadCodec(key: try WatermarkKey(secret: Array("another secret key".utf8)))
        #expect(codec.decode(soft(other.encode(p))) == nil)
        // By chance, random information words pass with p = 2^-32: none of 20000.
        var g = KeyedGenerator(seed: [UInt8](repeating: 3, count: 32))
        var passed = 0
        for _ in 0..<20000 {
            let word = (0..<PayloadCodec.infoBits).map { _ in UInt8(g.next() & 1) }
            if codec.payload(fromInfo: word) != nil { passed += 1 }
        }
        #expect(passed == 0)
    }

    /// Neighbouring ids get unrelated codewords (see `PayloadCodec.infoBits`): at most 62% of
    /// coded bits agree (random words: 50%), so one id's mark does not pass as the other's.
    @Test func neighbouringIdsGetUnrelatedCodewords() {
        for id: UInt32 in [2024, 0, 77, 123_456] {
            for delta: UInt32 in [1, 2, 1 << 16, 1 << 31] {
                let a = codec.encode(WatermarkPayload(id: id)), b = codec.encode(WatermarkPayload(id: id ^ delta))
                let agree = zip(a, b).filter { $0 == $1 }.count
                #expect(agree < 140, "ids \(id) and \(id ^ delta): \(agree) of 219 coded bits agree")
            }
        }
    }

    @Test func payloadBitsRoundTrip() {
        let p = WatermarkPayload(synthetic: false, id: 0x8000_0001)
        #expect(p.bits.count == 33)
        #expect(WatermarkPayload(bits: p.bits) == p)
    }
}
