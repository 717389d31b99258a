import AudioMark
import MarkCore

// Channel coding of the video payload.
//
// 33 payload bits (synthetic flag, id bit 31...0) + a 32-bit tag (HMAC-SHA256 of the payload
// under the video sub-key, truncated: a random or other-key decode passes with p = 2^-32) are
// encoded with the constraint-length-7, rate-1/3 convolutional code (generators 133, 171, 165
// octal, as in LTE's tail-biting variant), terminated with 6 zero bits: 71 steps, 213 coded
// bits. The detector decodes with a soft-decision Viterbi (64 states, ~15 µs).

/// Encodes and decodes the video mark's payload. Pure value type.
struct VideoPayloadCodec: Sendable {
    static let payloadBits = 33
    static let tagBits = 32
    static let infoBits = payloadBits + tagBits           // 65
    static let constraint = 7
    static let tailBits = constraint - 1                  // 6
    static let steps = infoBits + tailBits                // 71
    static let rate = 3
    static let codedBits = steps * rate                   // 213
    /// The code itself (the audio mark's decoder, `MarkCore.ConvolutionalCode`, at K = 7).
    static let code = ConvolutionalCode(constraint: constraint, generators: [0o133, 0o171, 0o165], infoBits: infoBits)

    let key: VideoMarkKey

    /// The 65 information bits: payload then tag.
    func infoBits(_ payload: WatermarkPayload) -> [UInt8] {
        let t = key.tag(payload)
        return payload.bits + (0..<32).map { UInt8((t >> UInt32(31 - $0)) & 1) }
    }

    /// The 213 coded bits (0/1) for a payload.
    func encode(_ payload: WatermarkPayload) -> [UInt8] {
        Self.code.encode(infoBits(payload))
    }

    /// The payload in 65 information bits, if its tag verifies.
    func payload(fromInfo info: [UInt8]) -> WatermarkPayload? {
        guard info.count == Self.infoBits else { return nil }
        var tag: UInt32 = 0
        for b in info[Self.payloadBits...] { tag = (tag << 1) | UInt32(b) }
        let p = WatermarkPayload(bits: Array(info[0..<Self.payloadBits]))
        return key.tag(p) == tag ? p : nil
    }

    /// Soft-decision decode: `soft[i] > 0` means coded bit i is more likely 0. The payload only
    /// when its tag verifies.
    func decode(_ soft: [Float]) -> WatermarkPayload? {
        Self.viterbi(soft).flatMap { payload(fromInfo: $0) }
    }

    /// Maximum-likelihood information bits (tag not checked).
    static func viterbi(_ soft: [Float]) -> [UInt8]? {
        code.viterbi(soft)
    }
}
