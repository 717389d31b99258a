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

    public init(certificatePath: String, keyPath: String, softwareVersion: String = "0.1.0") {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.softwareVersion = softwareVersion
    }
}

/// What the run report says about signing.
public struct C2PAReport: Sendable, Codable, Equatable {
    /// `embedded` (the manifest is inside the output) or `sidecar` (next to it, `.c2pa`).
    public var mode: String
    /// MIME type the output was signed as.
    public var format: String
    /// es256, ps256, ed25519…
    public var algorithm: String
    /// Size of the manifest store written.
    public var manifestBytes: Int
    /// Wall time of signing (reading the input's manifest, hashing, signing, the library's
    /// verification of what it wrote, the rename), in milliseconds.
    public var signMillis: Double
    /// Wall time of the start-up credential check (a probe signature), in milliseconds.
    public var checkMillis: Double
    /// The sidecar's path, for `sidecar` mode.
    public var sidecar: String?
    /// Whether the input's own manifest was kept as the parent ingredient.
    public var parentManifestKept: Bool
    /// c2pa-rs version.
    public var library: String
}
