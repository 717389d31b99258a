import Testing
import Foundation
@testable import AudioMark

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

    @Test func crcRejectsCorruptionAndOtherKeys() throws {
        let p = WatermarkPayload(id: 99)
        let info = codec.infoBits(p)
        // Flip any single information bit, re-encode: the CRC no longer matches.
        for i in [0, 1, 17, 32, 40, 64] {
            var bad = info
            bad[i] ^= 1
            #expect(codec.decode(soft(PayloadCodec.convolve(bad))) == nil)
        }
        // A codeword made under another key fails this key's CRC (its final XOR is keyed).
        let other = PayloadCodec(key: try WatermarkKey(secret: Array("another secret key".utf8)))
        #expect(other.crcMask != codec.crcMask)
        #expect(codec.decode(soft(other.encode(p))) == nil)
    }

    @Test func payloadBitsRoundTrip() {
        let p = WatermarkPayload(synthetic: false, id: 0x8000_0001)
        #expect(p.bits.count == 33)
        #expect(WatermarkPayload(bits: p.bits) == p)
    }
}
