import MarkCore

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
        KeyedMAC.derive(secret: secret, message: Array("labelcast.audiomark.v1/\(label)".utf8))
    }

    /// 32 bytes of secret for another layer keyed by the same secret (the video mark), one per
    /// `label`. Domain-separated from the audio mark's own derivations (their labels never start
    /// with `subkey/`), so a sub-key reveals nothing about the audio mark and vice versa.
    public func subkey(_ label: String) -> [UInt8] {
        derive("subkey/\(label)")
    }

    /// A deterministic generator for one purpose (`MarkCore.KeyedGenerator`).
    func generator(_ label: String) -> KeyedGenerator {
        KeyedGenerator(seed: derive(label))
    }
}

/// A key interpolated into a message or dumped by mistake shows its length, never its bytes.
extension WatermarkKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "WatermarkKey(<redacted>, \(secret.count) bytes)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
