import ArgumentParser
import Foundation
import Labelcast

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
    @Option(help: "Audible cue at each synthetic segment's start: morse (the GB 45438 rhythm ·− ··, Morse \"AI\") or off.")
    var audibleCue: String = "off"
    @Option(parsing: .unconditional, help: "Cue tone level in dBFS, -40 to 0.")
    var cueLevel: Double = AudibleCue().levelDB
    @Option(parsing: .unconditional, help: "Cue tone frequency in Hz, 200 to 4000.")
    var cueFrequency: Double = AudibleCue().frequency
    @Option(help: "Sign the output file with a C2PA manifest: PEM certificate chain, the signer's certificate first (embedded in MP4, MOV, M4A, MP3, WAV, FLAC, AVI; beside other files as NAME.c2pa).")
    var c2paCert: String?
    @Option(help: "PEM private key of the --c2pa-cert signer (EC P-256 → ES256, RSA → PS256, Ed25519). Never printed.")
    var c2paKey: String?

    func validate() throws {
        guard audibleCue == "morse" || audibleCue == "off" else {
            throw ValidationError("--audible-cue '\(audibleCue)' is not one of morse, off")
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
            try settings().validate()
        } catch let e as ProvenanceError { throw ValidationError(e.message) }
    }

    func settings() -> ProvenanceSettings {
        var s = ProvenanceSettings()
        s.producer = aigcProducer
        if let aigcProduceId { s.produceID = aigcProduceId }
        s.segmentsOut = segmentsOut
        s.audibleCue = audibleCue == "morse" ? AudibleCue(levelDB: cueLevel, frequency: cueFrequency) : nil
        if c2paCert != nil || c2paKey != nil {
            // One given without the other is caught when the run starts (exit 2, like the
            // other credential errors): an empty path names what is missing.
            s.c2pa = C2PASettings(certificatePath: c2paCert ?? "", keyPath: c2paKey ?? "", softwareVersion: LabelcastVersion.string)
        }
        return s
    }
}
