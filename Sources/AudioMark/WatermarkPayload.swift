/// What a mark says: the synthetic flag (GB 45438 implicit label) and a 32-bit identifier the
/// operator chooses (content or producer id).
public struct WatermarkPayload: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var synthetic: Bool
    public var id: UInt32

    public init(synthetic: Bool = true, id: UInt32) {
        self.synthetic = synthetic
        self.id = id
    }

    /// The 33 payload bits, most significant first: synthetic flag, then id bit 31...0 (the
    /// video mark codes the same bits: `package`).
    package var bits: [UInt8] {
        var out: [UInt8] = [synthetic ? 1 : 0]
        for i in stride(from: 31, through: 0, by: -1) { out.append(UInt8((id >> UInt32(i)) & 1)) }
        return out
    }

    package init(bits: [UInt8]) {
        precondition(bits.count == 33)
        synthetic = bits[0] == 1
        var v: UInt32 = 0
        for i in 1...32 { v = (v << 1) | UInt32(bits[i]) }
        id = v
    }

    public var description: String { "\(synthetic ? "synthetic" : "not-synthetic") id=\(id)" }
}
