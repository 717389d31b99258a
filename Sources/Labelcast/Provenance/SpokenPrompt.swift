import CEspeakNG
import Foundation

/// The spoken audio label (GB 45438's voice prompt; the EU code's spoken disclaimer): a text
/// rendered once, at start-up, by eSpeak NG in-process, trimmed of its leading and trailing
/// silence and normalised to a peak of 1 (the cue's level scales it).
///
/// Chinese is spoken at 120-160 characters per minute as GB 45438 asks: the speaking rate is
/// adjusted until the rendered prompt measures about 140 per minute. A text whose language has
/// no installed voice is an error here, before any media is opened.
public struct SpokenPrompt: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    /// The eSpeak NG voice that spoke it (`cmn`, `en`…).
    public let voice: String
    /// Sample rate of ``samples`` (eSpeak NG's own, 22 050 Hz).
    public let sampleRate: Int
    /// Mono speech, peak 1.0, starting on its first audible sample.
    public let samples: [Float]
    /// For a Chinese text: characters per minute as rendered.
    public let charactersPerMinute: Double?
    /// eSpeak NG's rate setting used, in its words per minute.
    public let rate: Int

    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    /// "voice 'cmn', 3.912 s, 153 characters/min": what a notice says about the rendering.
    public var description: String {
        "voice '\(voice)', \(String(format: "%.3f", duration)) s" + (charactersPerMinute.map { ", \(Int($0.rounded())) characters/min" } ?? "")
    }

    /// GB 45438: a voice prompt in Chinese is spoken at 120-160 characters a minute.
    public static let chineseRange = 120.0...160.0
    static let chineseTarget = 140.0

    /// Renders `text`. Costs tens of milliseconds per try (at most 6 tries for Chinese).
    /// - Throws: ``ProvenanceError`` naming the language without a voice, or eSpeak NG's failure.
    public static func render(text: String) throws -> SpokenPrompt {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ProvenanceError("--cue-text is empty: say that the content is AI-generated") }
        let (voice, language) = voiceFor(trimmed)
        return try engineLock.withLock {
            try startEngine()
            // eSpeak NG prints to stderr when a voice's dictionary is missing: look first.
            var dataPath: UnsafePointer<CChar>? = nil
            _ = espeak_Info(&dataPath)
            if let dataPath, !FileManager.default.fileExists(atPath: String(cString: dataPath) + "/\(voice)_dict") {
                throw ProvenanceError("--cue-text is \(language) but eSpeak NG has no '\(voice)' voice in \(String(cString: dataPath)): install espeak-ng-data, or give a --cue-text in another language")
            }
            let status = espeak_ng_SetVoiceByName(voice)
            guard status == ENS_OK else {
                throw ProvenanceError("--cue-text is \(language) but eSpeak NG has no usable '\(voice)' voice (\(message(status))): install espeak-ng-data, or give a --cue-text in another language")
            }
            let han = trimmed.unicodeScalars.filter { $0.properties.isIdeographic }.count
            var rate = han > 0 ? 130 : Int(espeakRATE_NORMAL)
            var samples = try synthesize(trimmed, rate: rate)
            var cpm: Double? = nil
            if han > 0 {
                for _ in 0..<6 {
                    let measured = Double(han) / (Double(samples.count) / Double(sampleRate)) * 60
                    cpm = measured
                    if abs(measured - chineseTarget) <= 8 { break }
                    let next = min(Int(espeakRATE_MAXIMUM), max(Int(espeakRATE_MINIMUM), Int((Double(rate) * chineseTarget / measured).rounded())))
                    if next == rate { break }
                    rate = next
                    samples = try synthesize(trimmed, rate: rate)
                    cpm = Double(han) / (Double(samples.count) / Double(sampleRate)) * 60
                }
                guard let c = cpm, chineseRange.contains(c) else {
                    throw ProvenanceError("--cue-text: eSpeak NG speaks it at \(Int(cpm ?? 0)) characters per minute, outside GB 45438's 120-160; use a shorter or plainer text")
                }
            }
            return SpokenPrompt(text: trimmed, voice: voice, sampleRate: sampleRate, samples: samples, charactersPerMinute: cpm, rate: rate)
        }
    }

    /// The voice for a text's script: Han → Mandarin (`cmn`), kana → `ja`, Hangul → `ko`,
    /// Cyrillic → `ru`, otherwise English.
    static func voiceFor(_ text: String) -> (voice: String, language: String) {
        for s in text.unicodeScalars {
            let v = s.value
            if (0x3040...0x30FF).contains(v) { return ("ja", "Japanese") }
            if (0xAC00...0xD7AF).contains(v) { return ("ko", "Korean") }
        }
        for s in text.unicodeScalars {
            let v = s.value
            if s.properties.isIdeographic { return ("cmn", "Chinese") }
            if (0x0400...0x04FF).contains(v) { return ("ru", "Russian") }
        }
        return ("en", "English")
    }

    // MARK: - eSpeak NG (global state: one engine per process, used under a lock)

    private static let engineLock = NSLock()
    nonisolated(unsafe) private static var sampleRate = 0

    private static func startEngine() throws {
        guard sampleRate == 0 else { return }
        espeak_ng_InitializePath(nil)  // ESPEAK_DATA_PATH, else the packaged data
        var context: espeak_ng_ERROR_CONTEXT? = nil
        let status = espeak_ng_Initialize(&context)
        espeak_ng_ClearErrorContext(&context)
        guard status == ENS_OK else {
            throw ProvenanceError("--audible-cue voice: eSpeak NG cannot start (\(message(status))): install espeak-ng-data")
        }
        let out = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, nil)
        guard out == ENS_OK else { throw ProvenanceError("--audible-cue voice: eSpeak NG output failed (\(message(out)))") }
        espeak_SetSynthCallback { wav, count, events in
            guard let wav, count > 0, let events, let box = events.pointee.user_data else { return 0 }
            let collector = Unmanaged<SampleCollector>.fromOpaque(box).takeUnretainedValue()
            collector.samples.append(contentsOf: UnsafeBufferPointer(start: wav, count: Int(count)))
            return 0
        }
        sampleRate = Int(espeak_ng_GetSampleRate())
    }

    private static func synthesize(_ text: String, rate: Int) throws -> [Float] {
        _ = espeak_ng_SetParameter(espeakRATE, Int32(rate), 0)
        let collector = SampleCollector()
        let box = Unmanaged.passRetained(collector)
        defer { box.release() }
        let utf8 = Array(text.utf8CString)
        let status = utf8.withUnsafeBufferPointer { p in
            espeak_ng_Synthesize(p.baseAddress, p.count, 0, POS_CHARACTER, 0, UInt32(espeakCHARS_UTF8), nil, box.toOpaque())
        }
        guard status == ENS_OK else { throw ProvenanceError("--cue-text: eSpeak NG could not speak it (\(message(status)))") }
        _ = espeak_ng_Synchronize()
        let raw = collector.samples
        guard let peak = raw.map({ abs(Int($0)) }).max(), peak > 0 else {
            throw ProvenanceError("--cue-text: eSpeak NG produced silence for it")
        }
        // Trim to the speech: from the first to the last sample above 1% of the peak.
        let threshold = max(1, peak / 100)
        let first = raw.firstIndex { abs(Int($0)) > threshold } ?? 0
        let last = raw.lastIndex { abs(Int($0)) > threshold } ?? raw.count - 1
        let scale = 1 / Float(peak)
        return raw[first...last].map { Float($0) * scale }
    }

    private static func message(_ status: espeak_ng_STATUS) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        espeak_ng_GetStatusCodeMessage(status, &buffer, buffer.count)
        return String(cString: buffer)
    }
}

/// Receives eSpeak NG's callback buffers for one synthesis.
private final class SampleCollector {
    var samples: [Int16] = []
}
