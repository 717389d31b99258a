import AudioMark
import Crypto

/// The video mark's keys, derived from the same secret as the audio mark (`--key-file`).
///
/// `WatermarkKey.subkey("videomark.v1")` gives a video-only secret (HMAC-SHA256, domain
/// separated from the audio mark's derivations); every purpose here — cell chips, the bit
/// layout, the temporal signs, the payload tag — is one more HMAC of it with its own label.
struct VideoMarkKey: Sendable {
    /// Raw bytes rather than a `SymmetricKey` (not Sendable); wrapped per derivation.
    private let secretBytes: [UInt8]
    private var secret: SymmetricKey { SymmetricKey(data: secretBytes) }

    init(_ key: WatermarkKey) {
        secretBytes = key.subkey("videomark.v1")
    }

    /// 32 pseudo-random bytes for one purpose.
    func derive(_ label: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(label.utf8), using: secret))
    }

    /// The payload check: HMAC-SHA256 of the 33 payload bits (as 5 bytes), first 32 bits.
    func tag(_ payload: WatermarkPayload) -> UInt32 {
        let bytes: [UInt8] = [payload.synthetic ? 1 : 0, UInt8(payload.id >> 24), UInt8((payload.id >> 16) & 0xFF),
                              UInt8((payload.id >> 8) & 0xFF), UInt8(payload.id & 0xFF)]
        let mac = Array(HMAC<SHA256>.authenticationCode(for: [0x74, 0x61, 0x67] + bytes, using: secret))
        return UInt32(mac[0]) << 24 | UInt32(mac[1]) << 16 | UInt32(mac[2]) << 8 | UInt32(mac[3])
    }

    func generator(_ label: String) -> SeededGenerator { SeededGenerator(seed: derive(label)) }
}

/// xoshiro256** seeded from an HMAC output: deterministic on every platform, and only ever fed
/// secret seeds.
struct SeededGenerator: RandomNumberGenerator {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: [UInt8]) {
        func word(_ i: Int) -> UInt64 {
            var v: UInt64 = 0
            for b in 0..<8 { v |= UInt64(seed[i * 8 + b]) << (8 * UInt64(b)) }
            return v
        }
        s0 = word(0); s1 = word(1); s2 = word(2); s3 = word(3)
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    mutating func sign() -> Float { next() & 1 == 0 ? 1 : -1 }
}
