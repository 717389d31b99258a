import ArgumentParser
import Foundation
import Labelcast
import Overlay

/// `--aigc-*`, `--segments-out`, `--audible-cue`, `--cue-*`, `--c2pa-*`: the machine-readable,
/// audible and signed labels (LABELS.md, "Machine-readable metadata", "Audible label",
/// "Signed provenance").
struct ProvenanceOptions: ParsableArguments {
    @Option(help: "GB 45438 ContentProducer: your service's name or code (letters, digits, - _ . : / @).")
    var aigcProducer: String = "labelcast"
    @Option(help: "GB 45438 ProduceID (default: a new UUID per run, printed at the start).")
    var aigcProduceId: String?
    @Option(help: "Write the synthetic ranges labeled, the AIGC value and the payload id to this JSON file.")
    var segmentsOut: String?
    @Option(help: "Audible label at each synthetic segment's start: morse (the GB 45438 rhythm ·− ··, Morse \"AI\"), voice (speaks --cue-text) or off. Default: off, except on outputs without video, which get the profile's (cn: morse; eu, cn+eu: voice).")
    var audibleCue: String?
    @Option(help: "What --audible-cue voice says (default per profile: cn \"本内容由人工智能生成\", eu \"This content is AI-generated\").")
    var cueText: String?
    @Option(parsing: .unconditional, help: "Repeat the audible cue every S seconds while a segment lasts (default: eu and cn+eu 300 on audio-only outputs, else once).")
    var cueEvery: Double?
    @Option(parsing: .unconditional, help: "Cue tone level in dBFS, -40 to 0.")
    var cueLevel: Double = AudibleCue().levelDB
    @Option(parsing: .unconditional, help: "Cue tone frequency in Hz, 200 to 4000.")
    var cueFrequency: Double = AudibleCue().frequency
    @Option(help: "Sign the output file with a C2PA manifest: PEM certificate chain, the signer's certificate first (embedded in MP4, MOV, M4A, MP3, WAV, FLAC, AVI; beside other files as NAME.c2pa).")
    var c2paCert: String?
    @Option(help: "PEM private key of the --c2pa-cert signer (EC P-256 → ES256, RSA → PS256, Ed25519). Never printed.")
    var c2paKey: String?
    @Option(help: "RFC 3161 time-stamping authority (http(s)://…) that countersigns every C2PA signature (with --c2pa-cert/--c2pa-key).")
    var c2paTsa: String?

    func validate() throws {
        if let audibleCue, !["morse", "voice", "off"].contains(audibleCue) {
            throw ValidationError("--audible-cue '\(audibleCue)' is not one of morse, voice, off")
        }
        if let cueEvery, !(cueEvery.isFinite && cueEvery > 0) {
            throw ValidationError("--cue-every \(cueEvery) must be a positive number of seconds")
        }
        if let segmentsOut {
            let dir = (segmentsOut as NSString).deletingLastPathComponent
            guard dir.isEmpty || FileManager.default.fileExists(atPath: dir) else {
                throw ValidationError("--segments-out '\(segmentsOut)': folder '\(dir)' does not exist")
            }
        }
        do {
            // The cue's values are checked even with the cue off: a typo is not silently ignored.
            try AudibleCue(levelDB: cueLevel, frequency: cueFrequency).validate()
            var s = ProvenanceSettings()
            s.producer = aigcProducer
            if let aigcProduceId { s.produceID = aigcProduceId }
            try s.validate()
        } catch let e as ProvenanceError { throw ValidationError(e.message) }
        if audibleCue == "off", cueText != nil || cueEvery != nil {
            throw OverlayError.ruleViolation("--audible-cue off with --cue-\(cueText != nil ? "text" : "every"): the cue is off, drop one")
        }
        if audibleCue == "morse", cueText != nil {
            throw OverlayError.ruleViolation("--cue-text is spoken by --audible-cue voice, but the cue is morse: use --audible-cue voice or drop --cue-text")
        }
    }

    /// The spoken prompt's default text per profile.
    static func defaultCueText(_ profile: LabelProfile) -> String {
        profile == .eu ? "This content is AI-generated" : "本内容由人工智能生成"
    }

    /// The settings, with the audible label for `profile`: the chosen cue, or none, and the
    /// profile's audio label for audio-only outputs unless `--audible-cue off`. Renders the
    /// spoken prompt now (start-up), so a missing voice is an error before any media opens.
    /// - Throws: ``ProvenanceError`` (a missing voice, a `--cue-every` shorter than the cue).
    func settings(profile: LabelProfile) throws -> ProvenanceSettings {
        var s = ProvenanceSettings()
        s.producer = aigcProducer
        if let aigcProduceId { s.produceID = aigcProduceId }
        s.segmentsOut = segmentsOut
        func cue(_ kind: String, every: Double?) throws -> AudibleCue {
            var c = AudibleCue(levelDB: cueLevel, frequency: cueFrequency, every: every)
            if kind == "voice" { c.voice = try SpokenPrompt.render(text: cueText ?? Self.defaultCueText(profile)) }
            try c.validate()
            return c
        }
        switch audibleCue {
        case "off":
            break
        case let kind?:
            s.audibleCue = try cue(kind, every: cueEvery)
        case nil:
            // The EU code: a spoken disclaimer for audio-only content, with reminders in long content.
            let kind = profile == .eu || profile == .cnEU || cueText != nil ? "voice" : "morse"
            let every = cueEvery ?? (profile == .eu || profile == .cnEU ? LabelTiming.defaultEvery : nil)
            s.audioOnlyCue = try cue(kind, every: every)
        }
        if c2paCert != nil || c2paKey != nil {
            // One given without the other is caught when the run starts (exit 2, like the
            // other credential errors): an empty path names what is missing.
            s.c2pa = C2PASettings(certificatePath: c2paCert ?? "", keyPath: c2paKey ?? "", softwareVersion: LabelcastVersion.string,
                                  timestampURL: c2paTsa)
        } else if c2paTsa != nil {
            throw ValidationError("--c2pa-tsa time-stamps C2PA signatures: give --c2pa-cert and --c2pa-key too")
        }
        return s
    }
}
