import Foundation

/// What `labelcast inspect` found in one input: every label layer, each with where it was,
/// what it says and (for timed layers) the media-time ranges it covers, and a verdict in the
/// 2025 labeling measures' three tiers (art. 6): `1` declared AI-generated, `2` possibly,
/// `3` suspected, or none found.
///
/// The JSON form is versioned: `schema_version` changes when a field changes meaning or goes
/// away (added fields keep the version). The schema is `docs/inspect.schema.json`.
public struct InspectionReport: Codable, Sendable, Equatable {
    public static let schemaVersion = 1

    public var schemaVersion = InspectionReport.schemaVersion
    /// The input as given, credentials removed.
    public var input: String
    /// libavformat's name for the container ("mov,mp4,m4a,3gp,3g2,mj2", "mpegts", …).
    public var container: String?
    /// Seconds of media read (the whole file, or the bounded window of a stream).
    public var duration: Double
    /// True when only a window of the input was read (a live URL or pipe with `--duration`).
    public var windowed: Bool
    public var verdict: Verdict
    public var layers: [Layer]
    /// Things a reader of the report should know (demo key used, C2PA library missing…).
    public var notes: [String]
    /// An HLS input: the playlist followed and what was read of it (absent for other inputs;
    /// added within schema version 1).
    public var hls: HLSInfo?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", input, container, duration, windowed, verdict, layers, notes, hls
    }

    /// What `inspect` read of an HLS playlist.
    public struct HLSInfo: Codable, Sendable, Equatable {
        public struct Variant: Codable, Sendable, Equatable {
            public var uri: String
            public var bandwidth: Int?
            public var resolution: String?
            public var codecs: String?
        }
        /// The playlist given.
        public var playlist: String
        /// It was a master playlist (then `variants` lists them and `inspected_variant` is the one read).
        public var master: Bool
        public var variants: [Variant]
        public var inspectedVariant: String?
        /// Segments read, of `segments_listed`.
        public var segments: Int
        public var segmentsListed: Int
        /// `mpegts` or `fmp4`.
        public var segmentType: String
        /// The media playlist has `EXT-X-ENDLIST` (VOD or ended); false: live, the listed window was read.
        public var endList: Bool
        /// `EXT-X-DATERANGE` tags in the media playlist (all classes).
        public var dateRanges: Int

        enum CodingKeys: String, CodingKey {
            case playlist, master, variants, inspectedVariant = "inspected_variant", segments, segmentsListed = "segments_listed",
                 segmentType = "segment_type", endList = "end_list", dateRanges = "date_ranges"
        }
    }

    /// The measures' tiers (and GB 45438's `Label` values): the strongest evidence decides.
    public enum Tier: Int, Codable, Sendable, Comparable {
        /// The content declares itself AI-generated: AIGC metadata, or a C2PA manifest that
        /// validates and names an AI digital source type.
        case declared = 1
        /// Possibly AI-generated: a keyed watermark read without a declaration, or a
        /// declaration whose signature fails validation.
        case possibly = 2
        /// Suspected: weaker signals — a marking present but malformed, a watermark's sync
        /// pattern without a readable payload, labelcast's chapters or sidecar alone.
        case suspected = 3

        public static func < (a: Tier, b: Tier) -> Bool { a.rawValue < b.rawValue }

        public var name: String {
            switch self {
            case .declared: "declared AI-generated"
            case .possibly: "possibly AI-generated"
            case .suspected: "suspected AI-generated"
            }
        }
    }

    public struct Verdict: Codable, Sendable, Equatable {
        /// 1, 2 or 3; null when no layer was found.
        public var tier: Tier?
        /// "declared AI-generated", "possibly AI-generated", "suspected AI-generated" or "none found".
        public var meaning: String
        /// One line per layer that set or supported the tier, strongest first.
        public var reasons: [String]

        enum CodingKeys: String, CodingKey { case tier, meaning, reasons }

        /// `tier` is written as null when none was found, so a reader need not tell a missing
        /// key from "nothing found".
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tier, forKey: .tier)
            try c.encode(meaning, forKey: .meaning)
            try c.encode(reasons, forKey: .reasons)
        }
    }

    /// One time range of media time, seconds from the start of the input.
    public struct TimeRange: Codable, Sendable, Equatable {
        public var start: Double
        public var end: Double
        /// A watermark's 32-bit payload id (`0x` and eight hex digits).
        public var payload: String?
        public var confidence: Double?
        /// A watermark range whose payload's keyed CRC verified (false: found by confirmation).
        public var verified: Bool?
        /// A chapter's title.
        public var title: String?

        public init(start: Double, end: Double, payload: String? = nil, confidence: Double? = nil, verified: Bool? = nil, title: String? = nil) {
            self.start = InspectionReport.milliseconds(start)
            self.end = InspectionReport.milliseconds(end)
            self.payload = payload
            self.confidence = confidence
            self.verified = verified
            self.title = title
        }
    }

    /// The GB 45438 Appendix E fields as read (absent fields are null).
    public struct AIGCFields: Codable, Sendable, Equatable {
        public var label: String?
        public var contentProducer: String?
        public var produceID: String?
        public var reservedCode1: String?
        public var contentPropagator: String?
        public var propagateID: String?
        public var reservedCode2: String?

        enum CodingKeys: String, CodingKey {
            case label = "Label", contentProducer = "ContentProducer", produceID = "ProduceID", reservedCode1 = "ReservedCode1",
                 contentPropagator = "ContentPropagator", propagateID = "PropagateID", reservedCode2 = "ReservedCode2"
        }
    }

    /// What a C2PA manifest store says.
    public struct C2PAFindings: Codable, Sendable, Equatable {
        /// `embedded`, `sidecar`, or `segmented` (an HLS-fMP4 playlist's init segment, validated
        /// with each media segment).
        public var mode: String
        /// The sidecar's file name, for `sidecar`.
        public var sidecar: String?
        /// `trusted` (signer chains to a trust anchor given), `valid` (integrity and signature
        /// verify; the signer is not on a trust list), `invalid` (a hash, signature or
        /// structure check failed), or `unreadable` (the store could not be parsed).
        public var validation: String
        /// The library's own `validation_state` ("Valid", "Trusted", "Invalid").
        public var validationState: String?
        /// Failure codes of the active manifest (e.g. `assertion.dataHash.mismatch`).
        public var failures: [String]
        public var signer: Signer?
        public var actions: [Action]
        public var ingredients: [Ingredient]
        /// The c2pa-rs version that read it.
        public var library: String?
        /// An HLS-fMP4 playlist (`mode` `segmented`): each listed media segment as validated
        /// with the init segment, and where its C2PA Merkle box places it.
        public var segments: [Segment]?
        /// An HLS-fMP4 playlist: segments listed out of their signed order, twice, missing,
        /// foreign or unbound (`SegmentedC2PACheck`); empty when the order is intact.
        public var sequenceProblems: [String]?

        public struct Segment: Codable, Sendable, Equatable {
            /// Its place in the playlist, from 0.
            public var position: Int
            public var uri: String
            /// The leaf index its Merkle box declares (nil: no box).
            public var location: Int?
            /// The Merkle map its box names (the rendition).
            public var uniqueId: Int?
            /// As for the layer: trusted, valid, invalid, unreadable.
            public var validation: String
            public var failures: [String]
            enum CodingKeys: String, CodingKey { case position, uri, location, uniqueId = "unique_id", validation, failures }
        }

        public struct Signer: Codable, Sendable, Equatable {
            public var issuer: String?
            public var commonName: String?
            public var algorithm: String?
            public var time: String?
            enum CodingKeys: String, CodingKey { case issuer, commonName = "common_name", algorithm = "alg", time }
        }
        public struct Action: Codable, Sendable, Equatable {
            public var action: String
            public var digitalSourceType: String?
            public var softwareAgent: String?
        }
        public struct Ingredient: Codable, Sendable, Equatable {
            public var title: String?
            public var format: String?
            public var relationship: String?
            /// Whether the ingredient brought its own manifest.
            public var hasManifest: Bool
            enum CodingKeys: String, CodingKey { case title, format, relationship, hasManifest = "has_manifest" }
        }
        enum CodingKeys: String, CodingKey {
            case mode, sidecar, validation, validationState = "validation_state", failures, signer, actions, ingredients, library
            case segments, sequenceProblems = "sequence_problems"
        }
    }

    /// One layer found.
    public struct Layer: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            /// The GB 45438 AIGC field in the container (tag, onMetaData, ID3, Vorbis comment, RIFF).
            case aigcMetadata = "aigc_metadata"
            case c2pa
            case audioWatermark = "audio_watermark"
            case videoWatermark = "video_watermark"
            /// Chapters titled with a label text (labelcast writes one per synthetic segment).
            case chapters
            /// labelcast's `--segments-out` JSON beside the file.
            case segmentsSidecar = "segments_sidecar"
        }
        public var kind: Kind
        /// Where in the input: "MP4/MOV tag (moov/udta/meta)", "MPEG-TS timed ID3", …
        public var place: String
        /// The tier this layer alone supports; null when it declares nothing (a C2PA manifest
        /// without an AI source type).
        public var tier: Tier?
        /// One line: what was found.
        public var summary: String
        /// Whether the layer is tied to media time (ranges) or covers the whole input.
        public var timed: Bool
        public var ranges: [TimeRange]
        /// aigc_metadata: the field's name and value as found.
        public var key: String?
        public var value: String?
        /// aigc_metadata: true when the value is in Appendix E form.
        public var wellFormed: Bool?
        /// aigc_metadata: what is wrong with the value (empty when well formed).
        public var problems: [String]?
        public var aigc: AIGCFields?
        public var c2pa: C2PAFindings?
        /// Watermarks: the strongest sync-pattern z-score (presence evidence without a payload).
        public var syncZ: Double?

        public init(kind: Kind, place: String, tier: Tier?, summary: String, timed: Bool, ranges: [TimeRange] = []) {
            self.kind = kind
            self.place = place
            self.tier = tier
            self.summary = summary
            self.timed = timed
            self.ranges = ranges
        }

        enum CodingKeys: String, CodingKey {
            case kind, place, tier, summary, timed, ranges, key, value, wellFormed = "well_formed", problems, aigc, c2pa, syncZ = "sync_z"
        }
    }

    public init(input: String, container: String?, duration: Double, windowed: Bool, layers: [Layer], notes: [String]) {
        self.input = input
        self.container = container
        self.duration = Self.milliseconds(duration)
        self.windowed = windowed
        self.layers = layers
        self.notes = notes
        self.verdict = Self.verdict(for: layers)
    }

    /// Rounded to the millisecond; a value too large to multiply by 1000 (a C2PA manifest's
    /// range of 1e308 s, found by fuzz-c2pa-report) stays as it is: infinity is not JSON, and
    /// the report would not encode (`serve` answered `{}`, `inspect --json` failed).
    static func milliseconds(_ v: Double) -> Double {
        let r = (v * 1000).rounded() / 1000
        return r.isFinite ? r : v
    }

    /// The strongest tier any layer supports; the reasons list every layer with a tier.
    static func verdict(for layers: [Layer]) -> Verdict {
        let tiered = layers.filter { $0.tier != nil }.sorted { $0.tier! < $1.tier! }
        guard let best = tiered.first?.tier else {
            return Verdict(tier: nil, meaning: "none found", reasons: layers.map { "\($0.place): \($0.summary)" })
        }
        return Verdict(tier: best, meaning: best.name, reasons: tiered.map { "tier \($0.tier!.rawValue): \($0.place): \($0.summary)" })
    }

    /// Any label layer found (the exit status: 0 when true, 1 when not).
    public var found: Bool { verdict.tier != nil }

    public func json(pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The human-readable report: the verdict, then one block per layer.
    public var text: String {
        var lines: [String] = []
        lines.append("verdict: " + (verdict.tier.map { "tier \($0.rawValue), \($0.name)" } ?? "none found: no label layer in this input"))
        lines.append(String(format: "input: %@ (%@, %.3f s%@)", input, container ?? "?", duration, windowed ? ", window read" : ""))
        for layer in layers {
            lines.append("- \(layer.kind.rawValue) [\(layer.tier.map { "tier \($0.rawValue)" } ?? "no tier")] \(layer.place): \(layer.summary)")
            for r in layer.ranges {
                var s = String(format: "    %.3f-%.3f s", r.start, r.end)
                if let p = r.payload { s += " payload \(p)" }
                if let c = r.confidence { s += String(format: " confidence %.1f", c) }
                if r.verified == false { s += " (confirmed, not CRC-verified)" }
                if let t = r.title { s += " \"\(t)\"" }
                lines.append(s)
            }
        }
        for note in notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }
}
