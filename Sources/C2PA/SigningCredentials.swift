import Foundation

/// A signer's certificate chain and private key, read from PEM files and checked before any
/// media work (`C2PASigner.init` signs a probe with them). The key stays in memory only: it
/// is never printed, and error texts that might quote it are scrubbed (`redacting(_:)`).
public struct SigningCredentials: Sendable {
    /// COSE signature algorithms c2pa-rs signs with, named as its `C2paSignerInfo.alg` wants.
    public enum Algorithm: String, Sendable {
        case es256, es384, es512, ps256, ed25519
    }

    public let certificatePath: String
    public let keyPath: String
    /// The chain, signer first (PEM text).
    let certificatePEM: String
    let keyPEM: String
    /// From the key: EC P-256 → ES256 (the default), P-384 → ES384, P-521 → ES512,
    /// RSA → PS256 (C2PA allows RSA only with PSS), Ed25519 → Ed25519.
    public let algorithm: Algorithm

    public init(certificatePath: String, keyPath: String) throws {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        certificatePEM = try Self.readText(certificatePath, option: "--c2pa-cert")
        keyPEM = try Self.readText(keyPath, option: "--c2pa-key")
        guard certificatePEM.contains("-----BEGIN CERTIFICATE-----") else {
            throw C2PAError(.credentials, "--c2pa-cert '\(certificatePath)' holds no PEM certificate: give the signer's certificate chain (-----BEGIN CERTIFICATE-----, signer first)")
        }
        if keyPEM.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            throw C2PAError(.credentials, "--c2pa-key '\(keyPath)' is encrypted: decrypt it first (openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem) and keep that file private")
        }
        if certificatePEM.contains("PRIVATE KEY-----") {
            throw C2PAError(.credentials, "--c2pa-cert '\(certificatePath)' holds a private key: keep the key in its own file (--c2pa-key) and the certificates in this one")
        }
        // c2pa-rs reads PKCS#8 only ("PRIVATE KEY"); openssl's older forms need one conversion.
        for label in ["EC PRIVATE KEY", "RSA PRIVATE KEY"] where keyPEM.contains("-----BEGIN \(label)-----") && !keyPEM.contains("-----BEGIN PRIVATE KEY-----") {
            throw C2PAError(.credentials, "--c2pa-key '\(keyPath)' is a \(label == "EC PRIVATE KEY" ? "SEC1" : "PKCS#1") '\(label)': convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt -in '\(keyPath)' -out key.pem) and give that file")
        }
        guard let algorithm = Self.algorithm(ofKeyPEM: keyPEM) else {
            throw C2PAError(.credentials, "--c2pa-key '\(keyPath)' holds no private key labelcast can sign with: give a PEM EC (P-256/P-384/P-521), RSA or Ed25519 private key")
        }
        self.algorithm = algorithm
    }

    private static func readText(_ path: String, option: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw C2PAError(.credentials, "\(option) '\(path)' does not exist: check the path")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw C2PAError(.credentials, "\(option) '\(path)' cannot be read: check its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw C2PAError(.credentials, "\(option) '\(path)' is not a PEM text file: convert it (openssl x509/pkey -outform PEM)")
        }
        return text
    }

    /// The algorithm a PEM private key is for, from its block label and the OIDs in its DER.
    static func algorithm(ofKeyPEM pem: String) -> Algorithm? {
        func der(_ label: String) -> [UInt8]? {
            guard let start = pem.range(of: "-----BEGIN \(label)-----"),
                  let end = pem.range(of: "-----END \(label)-----", range: start.upperBound..<pem.endIndex) else { return nil }
            let body = pem[start.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            return Data(base64Encoded: String(body)).map { [UInt8]($0) }
        }
        // DER encodings of the OIDs that decide (tag 06, length, value).
        let p256: [UInt8] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
        let p384: [UInt8] = [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22]
        let p521: [UInt8] = [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23]
        let ecPublicKey: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
        let rsa: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
        let rsaPSS: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A]
        let ed25519: [UInt8] = [0x06, 0x03, 0x2B, 0x65, 0x70]
        func curve(_ d: [UInt8]) -> Algorithm? {
            if d.contains(p256) { return .es256 }
            if d.contains(p384) { return .es384 }
            if d.contains(p521) { return .es512 }
            return nil
        }
        if let d = der("PRIVATE KEY") {
            if d.contains(ecPublicKey) { return curve(d) }
            if d.contains(rsa) || d.contains(rsaPSS) { return .ps256 }
            if d.contains(ed25519) { return .ed25519 }
            return nil
        }
        if let d = der("EC PRIVATE KEY") { return curve(d) }
        if der("RSA PRIVATE KEY") != nil { return .ps256 }
        return nil
    }

    /// `text` with anything that quotes the key's PEM body cut out.
    func redacting(_ text: String) -> String {
        var out = text
        for line in keyPEM.split(whereSeparator: \.isNewline) where line.count >= 16 && !line.hasPrefix("-----") {
            out = out.replacingOccurrences(of: String(line), with: "[key redacted]")
        }
        return out
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs as a contiguous run.
    fileprivate func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for i in 0...(count - needle.count) where self[i] == needle[0] {
            if self[i..<(i + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
