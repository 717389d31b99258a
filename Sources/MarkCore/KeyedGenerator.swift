/// xoshiro256** seeded from a key derivation: fast, deterministic across platforms, and only
/// ever fed secret seeds, so its outputs are as unpredictable as the HMAC that seeded it.
///
/// Shared by the audio and video marks: both draw their keyed layouts (patterns, which slot or
/// cell carries which coded bit, sync sequences) from it, so the two must never drift apart.
public struct KeyedGenerator: RandomNumberGenerator {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// - Parameter seed: at least 32 bytes (an HMAC-SHA256 output); words little-endian.
    public init(seed: [UInt8]) {
        precondition(seed.count >= 32)
        func word(_ i: Int) -> UInt64 {
            var v: UInt64 = 0
            for b in 0..<8 { v |= UInt64(seed[i * 8 + b]) << (8 * UInt64(b)) }
            return v
        }
        s0 = word(0); s1 = word(1); s2 = word(2); s3 = word(3)
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// +1 or -1 with equal probability.
    public mutating func sign() -> Float { next() & 1 == 0 ? 1 : -1 }
}
