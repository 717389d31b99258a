import Testing
import MarkCore

/// Expected values come from outside this code: Python's `hmac`/`hashlib` for the MACs and a
/// Python transcription of the published xoshiro256** for the generator.
@Suite("MarkCore") struct MarkCoreTests {
    let secret = Array("markcore test secret".utf8)

    @Test("derive and tag32 equal HMAC-SHA256 as Python computes it")
    func macs() {
        let d = KeyedMAC.derive(secret: secret, message: Array("label".utf8))
        #expect(d.count == 32)
        #expect(d.prefix(8).map { String(format: "%02x", $0) }.joined() == "79ab9af911515dcf")
        let bytes = KeyedMAC.payloadBytes(synthetic: true, id: 0xDEAD_BEEF)
        #expect(bytes == [1, 0xDE, 0xAD, 0xBE, 0xEF])
        #expect(KeyedMAC.tag32(secret: secret, message: bytes) == 0x3F06_E165)
        // (Not `secret + [0]`: HMAC zero-pads the key, so a trailing zero byte is the same key.)
        #expect(KeyedMAC.tag32(secret: secret + [1], message: bytes) != 0x3F06_E165)
    }

    @Test("the generator is xoshiro256** over the seed's little-endian words")
    func generator() {
        var g = KeyedGenerator(seed: (0..<32).map { UInt8($0) })
        #expect([g.next(), g.next(), g.next()] == [0xBC25_8EF8_61CB_354D, 0x258E_F861_CB34_9EB5, 0x013C_0EE1_B61E_1C2D])
    }

    @Test("the convolutional code's impulse response is its generators; round trip through errors")
    func convolutionalCode() {
        let code = ConvolutionalCode(constraint: 7, generators: [0o133, 0o171, 0o165], infoBits: 65)
        #expect(code.codedBits == 213)
        // A single 1 walks through the register: output i at step t is bit (K-1-t) of generator i.
        let impulse = code.encode([1] + [UInt8](repeating: 0, count: 64))
        for t in 0..<7 {
            for (i, g) in [0o133, 0o171, 0o165].enumerated() {
                #expect(Int(impulse[3 * t + i]) == (g >> (6 - t)) & 1, "step \(t) output \(i)")
            }
        }
        #expect(impulse[21...].allSatisfy { $0 == 0 })
        var g = KeyedGenerator(seed: [UInt8](repeating: 9, count: 32))
        for _ in 0..<20 {
            let info = (0..<65).map { _ in UInt8(g.next() & 1) }
            var soft = code.encode(info).map { Float($0 == 0 ? 1 : -1) }
            // 5% of the coded bits flipped, well spread: the decoder still finds the word.
            for k in stride(from: Int(g.next() % 20), to: soft.count, by: 20) { soft[k] = -soft[k] }
            #expect(code.viterbi(soft) == info)
        }
        #expect(code.viterbi([Float](repeating: 1, count: 212)) == nil)
    }
}
