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
    /// The audible label at each synthetic segment's start (the Morse rhythm or the spoken
    /// prompt); nil = off (the default for outputs with video).
    public var audibleCue: AudibleCue?
    /// The profile's audio label for an output that carries no video (no picture to hold the
    /// visible label), used when ``audibleCue`` is nil; nil when the operator turned it off.
    public var audioOnlyCue: AudibleCue?
    /// Sign file outputs with a C2PA manifest; nil = unsigned.
    public var c2pa: C2PASettings?
    public init() {}

    /// Rejects field values the metadata cannot carry (see `AIGCMetadata.validate`).
    public func validate() throws {
        try AIGCMetadata.validate(producer, field: "--aigc-producer")
        try AIGCMetadata.validate(produceID, field: "--aigc-produce-id")
        try audibleCue?.validate()
        try audioOnlyCue?.validate()
    }
}

/// The audible label, mixed over the programme, which is ducked under it: GB 45438's rhythm
/// prompt short-long-short-short (Morse "AI", ·− ··) as a sine tone, or a spoken prompt
/// (``voice``). Morse timing follows the convention: a dot is one unit, a dash three, one unit
/// between elements, three between the letters.
public struct AudibleCue: Sendable, Equatable {
    /// The spoken prompt (`--audible-cue voice`); nil = the Morse rhythm.
    public var voice: SpokenPrompt?
    /// Reminders (`--cue-every`): seconds between cues while a segment lasts, from its start.
    public var every: Double?
    /// Peak level of the tone in dBFS.
    public var levelDB: Double = -12
    /// Tone frequency in Hz.
    public var frequency: Double = 1000
    /// How far the programme is turned down under the cue, in dB.
    public var duckDB: Double = 18
    /// One Morse unit in seconds (a dot).
    public var unit: Double = 0.1
    public init(levelDB: Double = -12, frequency: Double = 1000, voice: SpokenPrompt? = nil, every: Double? = nil) {
        self.levelDB = levelDB
        self.frequency = frequency
        self.voice = voice
        self.every = every
    }

    /// "Morse" or "voice 'cmn'", for notices.
    public var kindDescription: String { voice.map { "\($0)" } ?? "Morse" }

    public static let levelRange = -40.0...0.0
    public static let frequencyRange = 200.0...4000.0

    public func validate() throws {
        guard levelDB.isFinite, Self.levelRange.contains(levelDB) else {
            throw ProvenanceError("--cue-level \(levelDB) is out of range: dBFS from -40 (quiet) to 0 (full scale)")
        }
        guard frequency.isFinite, Self.frequencyRange.contains(frequency) else {
            throw ProvenanceError("--cue-frequency \(frequency) is out of range: 200 to 4000 Hz")
        }
        if let every, !(every.isFinite && every > duration) {
            throw ProvenanceError("--cue-every \(every) must be longer than the cue itself (\(String(format: "%.2f", duration)) s)")
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

    /// From the cue's start to the end of its last element (or of the speech).
    public var duration: Double { voice?.duration ?? elements.last!.end }
}
