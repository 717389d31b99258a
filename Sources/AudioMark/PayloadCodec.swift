import MarkCore

// Channel coding of the payload.
//
// 33 payload bits + a 32-bit check, the first 32 bits of HMAC-SHA256 over the payload under a
// key derived from the watermark key, interleaved bit by bit (see `infoBits`), are encoded with the constraint-length-9, rate-1/3 convolutional code of
// 3GPP (generators 557, 663, 711 octal), terminated with 8 zero bits: 73 steps, 219 coded bits.
// The detector decodes with a soft-decision Viterbi (256 states): every observation of a coded
// bit adds its soft value, so repeated looks at the same bit combine for free.

/// Encodes and decodes the watermark payload. Pure value type; decoding costs ~40 µs.
struct PayloadCodec: Sendable {
    static let payloadBits = 33
    static let checkBits = 32
    static let infoBits = payloadBits + checkBits        // 65
    static let constraint = 9
    static let tailBits = constraint - 1                  // 8
    static let steps = infoBits + tailBits                // 73
    static let rate = 3
    static let codedBits = steps * rate                   // 219
    /// The code itself (shared with the video mark's, `MarkCore.ConvolutionalCode`).
    static let code = ConvolutionalCode(constraint: constraint, generators: [0o557, 0o663, 0o711], infoBits: infoBits)

    /// Key of the payload check: HMAC-SHA256(secret, "payload-check"), so the check reveals
    /// nothing about the patterns and the patterns nothing about the check.
    private let checkKey: [UInt8]

    init(key: WatermarkKey) {
        checkKey = key.derive("payload-check")
    }

    /// The payload check: the first 32 bits of HMAC-SHA256 over the payload's 5-byte encoding
    /// (flag byte 0/1, then the id big-endian).
    ///
    /// (Why a MAC and not a keyed CRC: see `KeyedMAC.tag32`.)
    func check(_ payload: WatermarkPayload) -> UInt32 {
        KeyedMAC.tag32(secret: checkKey, message: KeyedMAC.payloadBytes(synthetic: payload.synthetic, id: payload.id))
    }

    /// The 65 information bits: check bit 31, payload bit 0 (the flag), check bit 30, payload
    /// bit 1, ..., check bit 0, payload bit 31, then payload bit 32 (the id's lowest bit).
    ///
    /// Why interleaved: the code's output depends only on the last 9 input bits, so with the
    /// payload first, two ids that share their high bits (2024 and 2025) would share every coded
    /// bit up to the check: 80% of them, enough for one id's mark to be confirmed as the other.
    /// With the check's (pseudo-random) bits between the payload bits, any two ids' codewords
    /// agree on ~52% of coded bits (62% at most, over ids 1, 2, 2^16 and 2^31 apart).
    func infoBits(_ payload: WatermarkPayload) -> [UInt8] {
        let c = check(payload)
        let p = payload.bits
        var out: [UInt8] = []
        out.reserveCapacity(PayloadCodec.infoBits)
        for k in 0..<32 { out += [UInt8((c >> UInt32(31 - k)) & 1), p[k]] }
        out.append(p[32])
        return out
    }

    /// The 219 coded bits (0/1) for a payload.
    func encode(_ payload: WatermarkPayload) -> [UInt8] {
        PayloadCodec.convolve(infoBits(payload))
    }

    static func convolve(_ info: [UInt8]) -> [UInt8] {
        code.encode(info)
    }

    /// Soft-decision Viterbi decode. `soft[i] > 0` means coded bit i is more likely 0; the
    /// magnitude is the confidence. Returns the payload only when its check verifies.
    func decode(_ soft: [Float]) -> WatermarkPayload? {
        PayloadCodec.viterbi(soft).flatMap { payload(fromInfo: $0) }
    }

    /// The payload in 65 decoded information bits, if their check verifies.
    func payload(fromInfo info: [UInt8]) -> WatermarkPayload? {
        guard info.count == PayloadCodec.infoBits else { return nil }
        var bits: [UInt8] = [], c: UInt32 = 0
        for k in 0..<32 { c = (c << 1) | UInt32(info[2 * k]); bits.append(info[2 * k + 1]) }
        bits.append(info[64])
        let p = WatermarkPayload(bits: bits)
        return check(p) == c ? p : nil
    }

    /// Maximum-likelihood information bits (without the check), or nil for a wrong-length input.
    static func viterbi(_ soft: [Float]) -> [UInt8]? {
        code.viterbi(soft)
    }
}
