import ArgumentParser
import Foundation
import Labelcast

/// `--aigc-*`, `--segments-out`, `--audible-cue`, `--cue-*`: the machine-readable
/// and audible labels (LABELS.md, "Machine-readable metadata", "Audible label").
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
        return s
    }
}
