import AudioMark

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
    private static let generators: [Int] = [0o133, 0o171, 0o165]
    private static let stateCount = 1 << (constraint - 1) // 64

    /// Output bits of the encoder for register value `(input << 6) | state`, packed in 3 bits.
    private static let branchOutputs: [UInt8] = (0..<(1 << constraint)).map { reg -> UInt8 in
        var o: UInt8 = 0
        for (i, g) in generators.enumerated() where (reg & g).nonzeroBitCount & 1 == 1 { o |= 1 << UInt8(i) }
        return o
    }

    let key: VideoMarkKey

    static func bits(_ payload: WatermarkPayload) -> [UInt8] {
        [payload.synthetic ? 1 : 0] + (0..<32).map { UInt8((payload.id >> UInt32(31 - $0)) & 1) }
    }

    /// The 65 information bits: payload then tag.
    func infoBits(_ payload: WatermarkPayload) -> [UInt8] {
        let t = key.tag(payload)
        return Self.bits(payload) + (0..<32).map { UInt8((t >> UInt32(31 - $0)) & 1) }
    }

    /// The 213 coded bits (0/1) for a payload.
    func encode(_ payload: WatermarkPayload) -> [UInt8] {
        var state = 0
        var out = [UInt8]()
        out.reserveCapacity(Self.codedBits)
        for u in infoBits(payload) + [UInt8](repeating: 0, count: Self.tailBits) {
            let reg = (Int(u) << (Self.constraint - 1)) | state
            let o = Self.branchOutputs[reg]
            for i in 0..<Self.rate { out.append((o >> UInt8(i)) & 1) }
            state = reg >> 1
        }
        return out
    }

    /// The payload in 65 information bits, if its tag verifies.
    func payload(fromInfo info: [UInt8]) -> WatermarkPayload? {
        guard info.count == Self.infoBits else { return nil }
        var id: UInt32 = 0
        for i in 1...32 { id = (id << 1) | UInt32(info[i]) }
        var tag: UInt32 = 0
        for b in info[Self.payloadBits...] { tag = (tag << 1) | UInt32(b) }
        let p = WatermarkPayload(synthetic: info[0] == 1, id: id)
        return key.tag(p) == tag ? p : nil
    }

    /// Soft-decision decode: `soft[i] > 0` means coded bit i is more likely 0. The payload only
    /// when its tag verifies.
    func decode(_ soft: [Float]) -> WatermarkPayload? {
        Self.viterbi(soft).flatMap { payload(fromInfo: $0) }
    }

    /// Maximum-likelihood information bits (tag not checked).
    static func viterbi(_ soft: [Float]) -> [UInt8]? {
        guard soft.count == codedBits else { return nil }
        let n = stateCount
        let low = -Float.greatestFiniteMagnitude / 4
        var metric = [Float](repeating: low, count: n)
        metric[0] = 0
        var next = [Float](repeating: 0, count: n)
        var decisions = [UInt8](repeating: 0, count: steps * n)
        var score = [Float](repeating: 0, count: 8)
        for t in 0..<steps {
            let s0 = soft[3 * t], s1 = soft[3 * t + 1], s2 = soft[3 * t + 2]
            for p in 0..<8 {
                score[p] = (p & 1 == 0 ? s0 : -s0) + (p & 2 == 0 ? s1 : -s1) + (p & 4 == 0 ? s2 : -s2)
            }
            let forcedZero = t >= infoBits
            for ns in 0..<n {
                let u = ns >> (constraint - 2)
                if forcedZero && u == 1 { next[ns] = low; continue }
                let base = (ns & (n / 2 - 1)) << 1
                let regA = (u << (constraint - 1)) | base
                let ma = metric[base] + score[Int(branchOutputs[regA])]
                let mb = metric[base | 1] + score[Int(branchOutputs[regA | 1])]
                if mb > ma { next[ns] = mb; decisions[t * n + ns] = 1 } else { next[ns] = ma }
            }
            swap(&metric, &next)
        }
        var state = 0
        var info = [UInt8](repeating: 0, count: steps)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            info[t] = UInt8(state >> (constraint - 2))
            state = ((state & (n / 2 - 1)) << 1) | Int(decisions[t * n + state])
        }
        return Array(info[0..<infoBits])
    }
}
