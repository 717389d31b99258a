import Foundation

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
