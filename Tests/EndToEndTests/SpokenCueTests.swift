import Foundation
import Testing
import TestSupport

/// The spoken audio label (`--audible-cue voice`) and the audio label that audio-only outputs
/// get by default, decoded back from the output by the ffmpeg CLI: no transcription, only when
/// it starts, how long it lasts and how loud it is.
@Suite(.serialized) struct SpokenCueTests {
    static let rate = 48000.0

    /// The first channel's f32 samples at 48 kHz (not a downmix, which would add 3 dB).
    static func samples(_ path: String) throws -> [Float] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-af", "pan=mono|c0=c0", "-ar", "48000", "-f", "f32le", "-"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// Runs of sound (|x| above `threshold`) in seconds, joining gaps shorter than `gap` s.
    static func soundRuns(_ x: [Float], threshold: Float = 0.002, gap: Double = 0.35) -> [(start: Double, end: Double)] {
        var runs: [(Double, Double)] = []
        var start: Int? = nil, last = 0
        let maxGap = Int(gap * rate)
        for (i, v) in x.enumerated() where abs(v) > threshold {
            if let s = start, i - last > maxGap { runs.append((Double(s) / rate, Double(last + 1) / rate)); start = i }
            if start == nil { start = i }
            last = i
        }
        if let s = start { runs.append((Double(s) / rate, Double(last + 1) / rate)) }
        return runs
    }

    /// The rendered prompt's length from the run's notice ("voice 'cmn', 3.912 s, …").
    static func renderedSeconds(_ stderr: String) -> Double? {
        guard let r = stderr.range(of: #"voice '[a-z]+', [0-9.]+ s"#, options: .regularExpression) else { return nil }
        let words = stderr[r].split(separator: " ")
        return Double(words[words.count - 2])
    }

    func silence(_ dir: String, seconds: Double) throws -> String {
        let input = dir + "/in.wav"
        try TestSupport.makeMedia(input, seconds: seconds, video: nil, audio: "anullsrc=r=48000:cl=stereo")
        return input
    }

    @Test func chinesePromptAtTheSegmentStartAtItsLevel() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try silence(dir, seconds: 8)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.wav", "--segments", "2-", "--audible-cue", "voice",
                                           "--cue-level", "-12", "--no-watermark"])
        #expect(r.status == 0, "\(r.stderr)")
        let rendered = try #require(Self.renderedSeconds(r.stderr), "\(r.stderr)")
        let x = try Self.samples(dir + "/out.wav")
        let runs = Self.soundRuns(x)
        let run = try #require(runs.first, "no sound in the output")
        #expect(runs.count == 1, "\(runs)")
        #expect(abs(run.start - 2.0) <= 0.010, "onset \(run.start) s; the segment starts at 2.000")
        #expect(abs((run.end - run.start) - rendered) <= 0.030, "length \(run.end - run.start) s, rendered \(rendered) s")
        // GB 45438: 120-160 characters a minute; the text has 10.
        let cpm = 10 / (run.end - run.start) * 60
        #expect((120...160).contains(cpm), "\(cpm) characters/min")
        let peak = x.map { abs($0) }.max() ?? 0
        let peakDB = 20 * log10(Double(peak))
        #expect(abs(peakDB - -12) <= 0.5, "peak \(peakDB) dBFS, set -12")
    }

    @Test func englishPromptWithReminders() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try silence(dir, seconds: 12)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.wav", "--segments", "1-", "--audible-cue", "voice",
                                           "--cue-text", "This content is AI-generated", "--cue-every", "4", "--cue-level", "-20", "--no-watermark"])
        #expect(r.status == 0, "\(r.stderr)")
        let rendered = try #require(Self.renderedSeconds(r.stderr), "\(r.stderr)")
        #expect(rendered > 1 && rendered < 3.5, "\(rendered)")
        let runs = Self.soundRuns(try Self.samples(dir + "/out.wav"))
        #expect(runs.count == 3, "\(runs)")
        for (run, start) in zip(runs, [1.0, 5.0, 9.0]) {
            #expect(abs(run.start - start) <= 0.010, "onset \(run.start), expected \(start)")
            #expect(abs((run.end - run.start) - rendered) <= 0.030, "length \(run.end - run.start), rendered \(rendered)")
        }
    }

    @Test func audioOnlyOutputGetsTheProfilesCueByDefault() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 4, video: "testsrc2=size=160x120:rate=10", audio: "anullsrc=r=48000:cl=stereo")
        // cn: the Morse rhythm (·− ·· starts with a 0.1 s dot at the segment start).
        var r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/cn.wav", "--segments", "1-", "--no-watermark"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("no video") && r.stderr.contains("--audible-cue off"), "\(r.stderr)")
        let cn = Self.soundRuns(try Self.samples(dir + "/cn.wav"), gap: 0.5)
        #expect(cn.count == 1 && abs((cn.first?.start ?? 0) - 1.0) <= 0.010 && abs((cn.first?.end ?? 0) - 2.1) <= 0.02, "\(cn)")
        // eu: the spoken disclaimer.
        r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/eu.wav", "--segments", "1-", "--no-watermark", "--label-profile", "eu"])
        #expect(r.status == 0, "\(r.stderr)")
        let eu = Self.soundRuns(try Self.samples(dir + "/eu.wav"))
        #expect(eu.count == 1 && abs((eu.first?.start ?? 0) - 1.0) <= 0.010 && (eu.first.map { $0.end - $0.start } ?? 0) > 1, "\(eu)")
        // Off when asked, and then nothing is added; a video output gets no cue by default.
        r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/off.wav", "--segments", "1-", "--no-watermark", "--audible-cue", "off"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.soundRuns(try Self.samples(dir + "/off.wav")).isEmpty)
        r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/video.mkv", "--segments", "1-", "--no-watermark"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.soundRuns(try Self.samples(dir + "/video.mkv")).isEmpty)
    }

    @Test func missingVoiceIsAStartUpError() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try silence(dir, seconds: 1)
        // eSpeak NG's data without the Mandarin dictionary.
        let data = dir + "/espeak-data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        // Where this machine's eSpeak NG keeps its data ("… Data at: /usr/lib/<arch>/espeak-ng-data").
        let version = try TestSupport.run("espeak-ng", ["--version"]).stdoutText
        let system = try #require(version.range(of: "Data at: ").map { version[$0.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines) })
        for entry in try FileManager.default.contentsOfDirectory(atPath: system) where entry != "cmn_dict" {
            try FileManager.default.createSymbolicLink(atPath: data + "/" + entry, withDestinationPath: system + "/" + entry)
        }
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.wav", "--synthetic", "all", "--audible-cue", "voice"],
                                          environment: ["ESPEAK_DATA_PATH": data])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.errorLines.count == 1 && r.stderr.contains("Chinese") && r.stderr.contains("cmn"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.wav"))
    }
}
