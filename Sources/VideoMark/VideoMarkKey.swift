import AudioMark
import MarkCore

/// The video mark's keys, derived from the same secret as the audio mark (`--key-file`).
///
/// `WatermarkKey.subkey("videomark.v1")` gives a video-only secret (HMAC-SHA256, domain
/// separated from the audio mark's derivations); every purpose here — cell chips, the bit
/// layout, the temporal signs, the payload tag — is one more HMAC of it with its own label.
struct VideoMarkKey: Sendable {
    private let secret: [UInt8]

    init(_ key: WatermarkKey) {
        secret = key.subkey("videomark.v1")
    }

    /// 32 pseudo-random bytes for one purpose.
    func derive(_ label: String) -> [UInt8] {
        KeyedMAC.derive(secret: secret, message: Array(label.utf8))
    }

    /// The payload check: HMAC-SHA256 of the 33 payload bits (as 5 bytes), first 32 bits.
    func tag(_ payload: WatermarkPayload) -> UInt32 {
        // "tag" + the 5 payload bytes (the audio mark checks the bare bytes under its own key).
        KeyedMAC.tag32(secret: secret, message: Array("tag".utf8) + KeyedMAC.payloadBytes(synthetic: payload.synthetic, id: payload.id))
    }

    func generator(_ label: String) -> KeyedGenerator { KeyedGenerator(seed: derive(label)) }
}
