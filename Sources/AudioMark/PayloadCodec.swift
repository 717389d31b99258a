import Crypto

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
    private static let generators: [UInt32] = [0o557, 0o663, 0o711]
    private static let stateCount = 1 << (constraint - 1) // 256

    /// Output bits of the encoder for register value `(input << 8) | state`, packed in 3 bits.
    private static let branchOutputs: [UInt8] = (0..<(1 << constraint)).map { reg -> UInt8 in
        var o: UInt8 = 0
        for (i, g) in generators.enumerated() where (UInt32(reg) & g).nonzeroBitCount & 1 == 1 {
            o |= 1 << UInt8(i)
        }
        return o
    }

    /// Key of the payload check: HMAC-SHA256(secret, "payload-check"), so the check reveals
    /// nothing about the patterns and the patterns nothing about the check.
    /// (Raw bytes: `SymmetricKey` is not `Sendable`; wrapping 32 bytes per check is free
    /// next to the Viterbi decode it follows.)
    private let checkKey: [UInt8]

    init(key: WatermarkKey) {
        checkKey = key.derive("payload-check")
    }

    /// The payload check: the first 32 bits of HMAC-SHA256 over the payload's 5-byte encoding
    /// (flag byte 0/1, then the id big-endian).
    ///
    /// Why a MAC and not a keyed CRC: a CRC with a keyed final XOR is affine, so anyone who sees
    /// one marked codeword can compute the check of every other id (crc(a) ^ crc(b) does not
    /// depend on the key) and forge marks the detector accepts. Without the key, a truncated
    /// HMAC gives no such shortcut; by chance a random 65-bit word still passes with p = 2^-32,
    /// the false-match rate of the CRC it replaces.
    func check(_ payload: WatermarkPayload) -> UInt32 {
        let message: [UInt8] = [payload.synthetic ? 1 : 0,
                                UInt8(payload.id >> 24), UInt8((payload.id >> 16) & 0xFF),
                                UInt8((payload.id >> 8) & 0xFF), UInt8(payload.id & 0xFF)]
        let mac = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: checkKey)))
        return UInt32(mac[0]) << 24 | UInt32(mac[1]) << 16 | UInt32(mac[2]) << 8 | UInt32(mac[3])
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
        var state = 0
        var out = [UInt8]()
        out.reserveCapacity(codedBits)
        for u in info + [UInt8](repeating: 0, count: tailBits) {
            let reg = (Int(u) << (constraint - 1)) | state
            let o = branchOutputs[reg]
            for i in 0..<rate { out.append((o >> UInt8(i)) & 1) }
            state = reg >> 1
        }
        return out
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

    /// Maximum-likelihood information bits (without the check), or nil for an empty input.
    static func viterbi(_ soft: [Float]) -> [UInt8]? {
        guard soft.count == codedBits else { return nil }
        let n = stateCount
        var metric = [Float](repeating: -Float.greatestFiniteMagnitude / 4, count: n)
        metric[0] = 0
        var next = [Float](repeating: 0, count: n)
        var decisions = [UInt8](repeating: 0, count: steps * n)
        // Correlation of the 3 soft values with each of the 8 possible output patterns.
        var patternScore = [Float](repeating: 0, count: 8)
        for t in 0..<steps {
            let s0 = soft[3 * t], s1 = soft[3 * t + 1], s2 = soft[3 * t + 2]
            for p in 0..<8 {
                patternScore[p] = (p & 1 == 0 ? s0 : -s0) + (p & 2 == 0 ? s1 : -s1) + (p & 4 == 0 ? s2 : -s2)
            }
            let forcedZero = t >= infoBits
            for ns in 0..<n {
                let u = ns >> (constraint - 2)
                if forcedZero && u == 1 { next[ns] = -Float.greatestFiniteMagnitude / 4; continue }
                let base = (ns & (n / 2 - 1)) << 1
                let regA = (u << (constraint - 1)) | base
                let regB = regA | 1
                let ma = metric[base] + patternScore[Int(branchOutputs[regA])]
                let mb = metric[base | 1] + patternScore[Int(branchOutputs[regB])]
                if mb > ma { next[ns] = mb; decisions[t * n + ns] = 1 } else { next[ns] = ma }
            }
            swap(&metric, &next)
        }
        var state = 0
        var info = [UInt8](repeating: 0, count: steps)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            info[t] = UInt8(state >> (constraint - 2))
            let base = (state & (n / 2 - 1)) << 1
            state = base | Int(decisions[t * n + state])
        }
        return Array(info[0..<infoBits])
    }
}
