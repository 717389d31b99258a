import Crypto

/// The HMAC-SHA256 uses both marks make of their secrets: one derivation per purpose, and the
/// truncated payload check. In one place so the audio and video marks derive the same way.
///
/// Raw bytes in and out: `SymmetricKey` is not `Sendable`, and wrapping 32 bytes per call is
/// free next to what the callers do with the result.
public enum KeyedMAC {
    /// HMAC-SHA256(`secret`, `message`): 32 bytes.
    public static func derive(secret: [UInt8], message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
    }

    /// The first 32 bits (big-endian) of HMAC-SHA256(`secret`, `message`): a payload check a
    /// random or other-key decode passes with p = 2^-32.
    ///
    /// Why a MAC and not a keyed CRC: a CRC with a keyed final XOR is affine, so anyone who sees
    /// one marked codeword can compute the check of every other payload (crc(a) ^ crc(b) does not
    /// depend on the key) and forge marks a detector accepts. A truncated HMAC gives no shortcut.
    public static func tag32(secret: [UInt8], message: [UInt8]) -> UInt32 {
        let mac = derive(secret: secret, message: message)
        return UInt32(mac[0]) << 24 | UInt32(mac[1]) << 16 | UInt32(mac[2]) << 8 | UInt32(mac[3])
    }

    /// The 5-byte encoding of a payload both marks check: flag byte 0/1, then the id big-endian.
    public static func payloadBytes(synthetic: Bool, id: UInt32) -> [UInt8] {
        [synthetic ? 1 : 0, UInt8(id >> 24), UInt8((id >> 16) & 0xFF), UInt8((id >> 8) & 0xFF), UInt8(id & 0xFF)]
    }
}
