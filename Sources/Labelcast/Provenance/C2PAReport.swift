import Foundation

/// What the run report says about signing.
public struct C2PAReport: Sendable, Codable, Equatable {
    /// `embedded` (the manifest is inside the output), `sidecar` (next to it, `.c2pa`) or
    /// `segmented` (one manifest per init segment, binding its media segments).
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
    /// `segmented` mode (HLS-fMP4, DASH): init segments signed, media segments they bind,
    /// and the per-segment cost on the mux queue (Merkle box and box walk; the name is older
    /// than the move of the SHA-256 off that queue), in microseconds.
    public var initSegments: Int? = nil
    public var fragments: Int? = nil
    public var fragmentHashMicrosMean: Double? = nil
    public var fragmentHashMicrosMax: Double? = nil
    /// The mux-queue step per media segment in the mux thread's CPU time, µs (the wall time
    /// above includes preemption by the run's other threads).
    public var fragmentCPUMicrosMean: Double? = nil
    public var fragmentCPUMicrosMax: Double? = nil
    /// The SHA-256 per media segment on the signer's own queue (off the mux queue), µs.
    public var segmentHashMicrosMean: Double? = nil
    public var segmentHashMicrosMax: Double? = nil
    /// Live/`--realtime` segmented runs: how often the init segments were re-signed while
    /// the run wrote segments (off the mux queue), and the longest of those, in milliseconds.
    public var liveResignings: Int? = nil
    public var liveResignMillisMax: Double? = nil
}
