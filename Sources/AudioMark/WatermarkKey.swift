import Crypto

/// Secret key material for the audio watermark.
///
/// Everything an attacker would need to read or forge a mark — the spectral patterns, the sync
/// sequence, where each coded bit sits, the bit scrambling and the payload check's MAC key — is derived from
/// the secret with HMAC-SHA256, one derivation per purpose, so knowing one reveals nothing
/// about the others. Construction costs a few HMACs; keep one key per configuration.
public struct WatermarkKey: Sendable {
    /// Shortest accepted secret, in bytes (64 bits); anything shorter is guessable.
    public static let minimumLength = 8

    let secret: [UInt8]

    /// Wraps `secret` (raw bytes, e.g. the contents of a key file).
    /// - Throws: `WatermarkError.keyTooShort` when the secret has fewer than 8 bytes.
    public init(secret: [UInt8]) throws {
        guard secret.count >= WatermarkKey.minimumLength else {
            throw WatermarkError.keyTooShort(byteCount: secret.count)
        }
        self.secret = secret
    }

    /// The built-in demo key. It is public (it is in the source), so a mark made with it
    /// proves nothing; the CLI warns whenever it is used.
    public static let demo: WatermarkKey = try! WatermarkKey(secret: Array("labelcast demo watermark key, not secret".utf8))

    /// 32 pseudo-random bytes for one purpose (`label`).
    func derive(_ label: String) -> [UInt8] {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("labelcast.audiomark.v1/\(label)".utf8),
                                                  using: SymmetricKey(data: secret))
        return Array(mac)
    }

    /// 32 bytes of secret for another layer keyed by the same secret (the video mark), one per
    /// `label`. Domain-separated from the audio mark's own derivations (their labels never start
    /// with `subkey/`), so a sub-key reveals nothing about the audio mark and vice versa.
    public func subkey(_ label: String) -> [UInt8] {
        derive("subkey/\(label)")
    }

    /// A deterministic generator for one purpose.
    func generator(_ label: String) -> KeyedGenerator {
        KeyedGenerator(seed: derive(label))
    }
}

/// xoshiro256** seeded from a key derivation: fast, deterministic across platforms, and only
/// ever fed secret seeds, so its outputs are as unpredictable as the HMAC that seeded it.
struct KeyedGenerator: RandomNumberGenerator {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: [UInt8]) {
        precondition(seed.count >= 32)
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

/// A key interpolated into a message or dumped by mistake shows its length, never its bytes.
extension WatermarkKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "WatermarkKey(<redacted>, \(secret.count) bytes)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
