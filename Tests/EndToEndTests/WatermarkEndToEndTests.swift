import Foundation
import Testing
import TestSupport

/// The audio watermark through the real chain: `labelcast run` → an `ffmpeg` AAC re-encode →
/// `labelcast detect`, on speech made by espeak-ng.
@Suite(.serialized) struct WatermarkEndToEndTests {
    /// ~12 s of English speech at 48 kHz stereo (espeak-ng, then ffmpeg).
    static func makeSpeech(_ dir: String) throws -> String {
        let raw = dir + "/speech-raw.wav", out = dir + "/speech.wav"
        let text = "Synthetic media must carry a label. This sentence was spoken by a machine, and the stream that carries it "
            + "is marked with an inaudible watermark that survives compression. Labelcast finds it again without the original."
        let r = try TestSupport.run("espeak-ng", ["-v", "en", "-s", "150", "-w", raw, text])
        guard r.status == 0 else { throw TestFailure("espeak-ng failed: \(r.stderr)") }
        let c = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", raw, "-af", "apad=pad_dur=0.5", "-ar", "48000", "-ac", "2", out])
        guard c.status == 0 else { throw TestFailure("ffmpeg failed: \(c.stderr)") }
        return out
    }

    static func writeKey(_ dir: String, _ text: String = "test key 0123456789abcdef") throws -> String {
        let path = dir + "/wm.key"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    struct Found: Decodable {
        struct Segment: Decodable { let start: Double; let end: Double; let payload: String; let confidence: Double; let verified: Bool }
        let duration: Double
        let segments: [Segment]
        let syncZ: Double
        enum CodingKeys: String, CodingKey { case duration, segments, syncZ = "sync_z" }
    }

    @Test func marksExactlyTheSegmentAndSurvivesAAC() throws {
        let dir = try TestSupport.temporaryDirectory()
        let speech = try Self.makeSpeech(dir)
        let key = try Self.writeKey(dir)
        let marked = dir + "/marked.m4a", attacked = dir + "/attacked.m4a"
        let run = try TestSupport.labelcast(["run", "-i", speech, "-o", marked, "--segments", "2-7.5", "--key-file", key, "--payload-id", "0xC0FFEE"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stderr.contains("test key 0123"), "the key never appears in logs")
        // Samples in = samples out: the embedder's look-ahead is hidden from the timeline.
        #expect(abs(try TestSupport.audioSampleCount(marked) - TestSupport.audioSampleCount(speech)) <= 1024)
        let enc = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", marked, "-c:a", "aac", "-b:a", "96k", attacked])
        #expect(enc.status == 0)
        let r = try TestSupport.labelcast(["detect", attacked, "--key-file", key, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let found = try JSONDecoder().decode(Found.self, from: r.stdout)
        #expect(found.segments.count == 1, "\(r.stdoutText)")
        let s = try #require(found.segments.first)
        #expect(s.payload == "0x00C0FFEE")
        #expect(abs(s.start - 2) <= 0.5 && abs(s.end - 7.5) <= 0.5, "range \(s.start)-\(s.end)")
        #expect(s.verified, "a 5.5 s range is read with its CRC, not only confirmed")
        #expect(found.duration > 10)
        #expect(found.syncZ >= 6, "the sync pattern alone is plain in 5.5 s of marked audio: \(found.syncZ)")
        // Plain output: one line per range.
        let plain = try TestSupport.labelcast(["detect", attacked, "--key-file", key, "-q"])
        #expect(plain.status == 0)
        let fields = plain.stdoutText.split(whereSeparator: \.isNewline).first?.split(separator: " ") ?? []
        #expect(fields.count == 4 && fields[2] == "0x00C0FFEE", "\(plain.stdoutText)")
    }

    @Test func wrongKeyAndUnmarkedAudioFindNothing() throws {
        let dir = try TestSupport.temporaryDirectory()
        let speech = try Self.makeSpeech(dir)
        let key = try Self.writeKey(dir)
        let marked = dir + "/marked.mkv"
        #expect(try TestSupport.labelcast(["run", "-i", speech, "-o", marked, "--synthetic", "all", "--key-file", key]).status == 0)
        let wrong = dir + "/wrong.key"
        try Data("another key entirely, 42".utf8).write(to: URL(fileURLWithPath: wrong))
        var r = try TestSupport.labelcast(["detect", marked, "--key-file", wrong, "-q"])
        #expect(r.status == 1, "\(r.stdoutText) \(r.stderr)")
        #expect(r.stdout.isEmpty)
        r = try TestSupport.labelcast(["detect", speech, "--key-file", key, "-q"])
        #expect(r.status == 1)
        // Their sync z stays far under the presence threshold, so no "sync present" warning.
        for (file, k) in [(marked, wrong), (speech, key)] {
            r = try TestSupport.labelcast(["detect", file, "--key-file", k, "--json"])
            #expect(r.status == 1)
            let found = try JSONDecoder().decode(Found.self, from: r.stdout)
            #expect(found.segments.isEmpty && found.syncZ < 5, "\(r.stdoutText)")
            #expect(!r.stderr.contains("sync pattern is present"), "\(r.stderr)")
        }
        // --no-watermark leaves the audio unmarked.
        let plain = dir + "/plain.mkv"
        #expect(try TestSupport.labelcast(["run", "-i", speech, "-o", plain, "--synthetic", "all", "--no-watermark"]).status == 0)
        r = try TestSupport.labelcast(["detect", plain, "--key-file", key, "-q"])
        #expect(r.status == 1)
        // 2.2 s excerpts of the marked audio after AAC 48k: the warning agrees with the JSON (sync
        // z ≥ 6 and no payload read → warning and exit 1; a payload read → exit 0, no warning),
        // and presence shows one way or the other in most of them.
        var shown = 0
        for start in ["0.5", "1.5", "2.5", "3.5", "4.5"] {
            let excerpt = dir + "/excerpt-\(start).m4a"
            #expect(try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-ss", start, "-t", "2.2", "-i", marked, "-vn",
                                                   "-c:a", "aac", "-b:a", "48k", excerpt]).status == 0)
            r = try TestSupport.labelcast(["detect", excerpt, "--key-file", key, "--json"])
            let short = try JSONDecoder().decode(Found.self, from: r.stdout)
            let warned = r.stderr.contains("sync pattern is present")
            if !short.segments.isEmpty {
                #expect(r.status == 0 && !warned); shown += 1
            } else if short.syncZ >= 6 {
                #expect(r.status == 1 && warned, "\(r.stderr)"); shown += 1
            } else {
                #expect(r.status == 1 && !warned)
            }
        }
        #expect(shown >= 3, "presence in only \(shown) of 5 excerpts of 2.2 s")
        // LABELCAST_KEY works as the key too.
        r = try TestSupport.labelcast(["detect", marked, "-q"], environment: ["LABELCAST_KEY": "test key 0123456789abcdef"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func detectErrorsAreOneLine() throws {
        let dir = try TestSupport.temporaryDirectory()
        try TestSupport.makeMedia(dir + "/video.mkv", seconds: 0.3, video: "testsrc2=size=160x120:rate=10", audio: nil)
        try Data("1\n00:00:00,000 --> 00:00:01,000\nno media here\n".utf8).write(to: URL(fileURLWithPath: dir + "/subtitles.srt"))
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.key"))
        try Data("short".utf8).write(to: URL(fileURLWithPath: dir + "/short.key"))
        let cases: [([String], String)] = [
            (["detect", dir + "/missing.wav"], "does not exist"),
            (["detect", dir + "/subtitles.srt"], "no audio or video stream"),
            (["detect", dir + "/video.mkv", "--key-file", dir + "/none.key"], "does not exist"),
            (["detect", dir + "/video.mkv", "--key-file", dir + "/empty.key"], "is empty"),
            (["detect", dir + "/video.mkv", "--key-file", dir + "/short.key"], "at least 8"),
            (["run", "-i", dir + "/video.mkv", "-o", dir + "/o.mkv", "--payload-id", "0x1FFFFFFFF"], "32-bit"),
            (["run", "-i", dir + "/video.mkv", "-o", dir + "/o.mkv", "--payload-id", "abc"], "32-bit"),
        ]
        for (args, mentions) in cases {
            let r = try TestSupport.labelcast(args)
            #expect(r.status >= 2, "\(args): \(r.status)")
            #expect(r.errorLines.count == 1 && r.stderr.contains(mentions), "\(args): \(r.stderr)")
        }
        #expect(!TestSupport.files(in: dir).contains("o.mkv"))
    }
}
