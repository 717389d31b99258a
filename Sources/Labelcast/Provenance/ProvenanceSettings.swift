import Foundation

/// How a run declares provenance (LABELS.md, "Machine-readable metadata", "Audible label"):
/// the GB 45438 metadata fields, the segments sidecar, and the optional audible cue.
public struct ProvenanceSettings: Sendable, Equatable {
    /// ContentProducer (and, on first labeling, ContentPropagator).
    public var producer = "labelcast"
    /// ProduceID (and, on first labeling, PropagateID): one UUID per run unless set.
    public var produceID = UUID().uuidString.lowercased()
    /// Where to write the JSON list of the synthetic ranges labeled; nil = no sidecar.
    public var segmentsOut: String?
    /// The Morse "AI" rhythm at each synthetic segment's start; nil = off (the default).
    public var audibleCue: AudibleCue?
    /// Sign file outputs with a C2PA manifest; nil = unsigned.
    public var c2pa: C2PASettings?
    public init() {}

    /// Rejects field values the metadata cannot carry (see `AIGCMetadata.validate`).
    public func validate() throws {
        try AIGCMetadata.validate(producer, field: "--aigc-producer")
        try AIGCMetadata.validate(produceID, field: "--aigc-produce-id")
        try audibleCue?.validate()
    }
}

/// The GB 45438 rhythm prompt: short-long-short-short (Morse "AI", ·− ··), a sine tone over
/// the programme, which is ducked under it. Timing follows the Morse convention: a dot is one
/// unit, a dash three, one unit between elements, three between the letters.
public struct AudibleCue: Sendable, Equatable {
    /// Peak level of the tone in dBFS.
    public var levelDB: Double = -12
    /// Tone frequency in Hz.
    public var frequency: Double = 1000
    /// How far the programme is turned down under the cue, in dB.
    public var duckDB: Double = 18
    /// One Morse unit in seconds (a dot).
    public var unit: Double = 0.1
    public init(levelDB: Double = -12, frequency: Double = 1000) {
        self.levelDB = levelDB
        self.frequency = frequency
    }

    public static let levelRange = -40.0...0.0
    public static let frequencyRange = 200.0...4000.0

    public func validate() throws {
        guard levelDB.isFinite, Self.levelRange.contains(levelDB) else {
            throw ProvenanceError("--cue-level \(levelDB) is out of range: dBFS from -40 (quiet) to 0 (full scale)")
        }
        guard frequency.isFinite, Self.frequencyRange.contains(frequency) else {
            throw ProvenanceError("--cue-frequency \(frequency) is out of range: 200 to 4000 Hz")
        }
    }

    /// The tone's on-intervals from the cue's start, in seconds: · − · ·
    public var elements: [(start: Double, end: Double)] {
        // dot, gap, dash, letter gap, dot, gap, dot
        let pattern: [(on: Bool, units: Double)] = [(true, 1), (false, 1), (true, 3), (false, 3), (true, 1), (false, 1), (true, 1)]
        var t = 0.0
        var out: [(Double, Double)] = []
        for p in pattern {
            if p.on { out.append((t * unit, (t + p.units) * unit)) }
            t += p.units
        }
        return out
    }

    /// From the cue's start to the end of its last element.
    public var duration: Double { elements.last!.end }
}
