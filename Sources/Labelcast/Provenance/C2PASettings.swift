import Foundation

/// `--c2pa-cert` / `--c2pa-key`: sign file outputs with a C2PA manifest (LABELS.md, "Signed
/// provenance"). The files are read at start-up; the key never leaves memory.
public struct C2PASettings: Sendable, Equatable {
    /// PEM certificate chain, the signer's end-entity certificate first.
    public var certificatePath: String
    /// PEM private key of that certificate (EC P-256 → ES256, RSA → PS256, Ed25519).
    public var keyPath: String
    /// The softwareAgent / claim generator version (the CLI passes its own).
    public var softwareVersion: String
    /// An RFC 3161 time-stamping authority (`http(s)://…`, `--c2pa-tsa`): each signature gets
    /// its time-stamp token, so a verifier can tell it was made while the certificate was
    /// valid (and when), even after the certificate expires. nil: signed, not time-stamped.
    public var timestampURL: String?

    public init(certificatePath: String, keyPath: String, softwareVersion: String = "0.1.0", timestampURL: String? = nil) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.softwareVersion = softwareVersion
        self.timestampURL = timestampURL
    }
}
