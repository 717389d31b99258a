/// A terminated rate-1/n convolutional code with a soft-decision Viterbi decoder: the error
/// correction of both marks (audio: constraint length 9, generators 557 663 711 octal; video:
/// 7, 133 171 165). Pure value; build once per mark (the branch table is 2^K entries).
///
/// Every observation of a coded bit adds its soft value before decoding, so repeated looks at
/// the same bit combine for free.
public struct ConvolutionalCode: Sendable {
    public let constraint: Int
    public let rate: Int
    /// Information bits per codeword (the encoder then appends `constraint - 1` zero bits).
    public let infoBits: Int
    public var steps: Int { infoBits + constraint - 1 }
    public var codedBits: Int { steps * rate }
    /// Output bits for register value `(input << (K-1)) | state`, packed (bit i = generator i).
    private let branchOutputs: [UInt8]

    /// - Parameters:
    ///   - constraint: K, 2...16.
    ///   - generators: one per output bit (rate = their count, at most 8), as octal-style masks
    ///     over the K-bit register (input bit highest).
    ///   - infoBits: information bits per codeword.
    public init(constraint: Int, generators: [Int], infoBits: Int) {
        precondition((2...16).contains(constraint) && (1...8).contains(generators.count))
        self.constraint = constraint
        self.rate = generators.count
        self.infoBits = infoBits
        branchOutputs = (0..<(1 << constraint)).map { reg -> UInt8 in
            var o: UInt8 = 0
            for (i, g) in generators.enumerated() where (reg & g).nonzeroBitCount & 1 == 1 { o |= 1 << UInt8(i) }
            return o
        }
    }

    /// The coded bits (0/1) for `info` (any length; `infoBits` for a decodable codeword),
    /// terminated with K-1 zero bits.
    public func encode(_ info: [UInt8]) -> [UInt8] {
        var state = 0
        var out = [UInt8]()
        out.reserveCapacity((info.count + constraint - 1) * rate)
        for u in info + [UInt8](repeating: 0, count: constraint - 1) {
            let reg = (Int(u) << (constraint - 1)) | state
            let o = branchOutputs[reg]
            for i in 0..<rate { out.append((o >> UInt8(i)) & 1) }
            state = reg >> 1
        }
        return out
    }

    /// Maximum-likelihood information bits for `soft` (`soft[i] > 0`: coded bit i is more
    /// likely 0; the magnitude is the confidence), or nil when `soft` is not `codedBits` long.
    public func viterbi(_ soft: [Float]) -> [UInt8]? {
        guard soft.count == codedBits else { return nil }
        let n = 1 << (constraint - 1)
        let low = -Float.greatestFiniteMagnitude / 4
        var metric = [Float](repeating: low, count: n)
        metric[0] = 0
        var next = [Float](repeating: 0, count: n)
        var decisions = [UInt8](repeating: 0, count: steps * n)
        // Correlation of the `rate` soft values with each possible output pattern.
        var score = [Float](repeating: 0, count: 1 << rate)
        for t in 0..<steps {
            for p in 0..<(1 << rate) {
                var s: Float = 0
                for i in 0..<rate {
                    let v = soft[rate * t + i]
                    s = i == 0 ? (p & 1 == 0 ? v : -v) : s + (p & (1 << i) == 0 ? v : -v)
                }
                score[p] = s
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
