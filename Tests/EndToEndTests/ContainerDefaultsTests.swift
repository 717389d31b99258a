import Foundation
import Testing
import TestSupport

/// Each output container gets codecs it can carry, the input's audio depth where the codec
/// keeps it, no stream it cannot hold (with one notice naming it), and the AIGC marking in its
/// own place. Inputs made with the ffmpeg CLI; ffprobe (and, for WAV's chunks, a RIFF walk of
/// the bytes) is the oracle; `labelcast detect` finds the audio watermark in lossy outputs.
@Suite(.serialized) struct ContainerDefaultsTests {
    /// ffprobe's streams and format, as JSON dictionaries.
    struct Probe {
        let streams: [[String: Any]]
        let format: [String: Any]
        func of(_ type: String) -> [[String: Any]] { streams.filter { $0["codec_type"] as? String == type } }
        /// Container tags and every stream's tags (Ogg keeps Vorbis comments per stream).
        var allTags: [String: String] {
            var t = format["tags"] as? [String: String] ?? [:]
            for s in streams { t.merge(s["tags"] as? [String: String] ?? [:]) { a, _ in a } }
            return Dictionary(uniqueKeysWithValues: t.map { ($0.key.uppercased(), $0.value) })
        }
    }

    static func probe(_ path: String) throws -> Probe {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", path])
        guard r.status == 0 else { throw TestFailure("ffprobe failed on \(path): \(r.stderr)") }
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        return Probe(streams: json["streams"] as? [[String: Any]] ?? [], format: json["format"] as? [String: Any] ?? [:])
    }

    /// 8 s of flat grey 320x240 video (the label is the only bright ink) and espeak-ng speech.
    static func makeInput(_ dir: String) throws -> String {
        let speech = try WatermarkEndToEndTests.makeSpeech(dir)
        let out = dir + "/in.mp4"
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x606060:size=320x240:rate=30",
                                               "-i", speech, "-t", "8", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
                                               "-crf", "10", "-c:a", "aac", "-b:a", "192k", out])
        guard r.status == 0 else { throw TestFailure("ffmpeg: \(r.stderr)") }
        return out
    }

    /// The ranges `labelcast detect` finds (audio modality), as (payload, start, end).
    static func detect(_ path: String) throws -> [(payload: String, start: Double, end: Double)] {
        let r = try TestSupport.labelcast(["detect", path, "--json", "-q"])
        guard r.status == 0 || r.status == 1 else { throw TestFailure("detect failed: \(r.stderr)") }
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        return (json["segments"] as? [[String: Any]] ?? []).filter { ($0["modality"] as? String ?? "audio") == "audio" }.map {
            ($0["payload"] as? String ?? "", $0["start"] as? Double ?? -1, $0["end"] as? Double ?? -1)
        }
    }

    /// Lanes of the run's metrics report.
    static func lanes(_ metrics: String) throws -> [String: [String: Any]] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metrics))) as? [String: Any] ?? [:]
        var out: [String: [String: Any]] = [:]
        for l in json["lanes"] as? [[String: Any]] ?? [] { out[l["lane"] as? String ?? ""] = l }
        return out
    }

    /// Bounding box of luma differences above 40 between two frames: the label's ink.
    static func inkBox(_ a: [UInt8], _ b: [UInt8], width: Int) -> (x0: Int, y0: Int, x1: Int, y1: Int)? {
        var box: (x0: Int, y0: Int, x1: Int, y1: Int)? = nil
        for i in 0..<min(a.count, b.count) where abs(Int(a[i]) - Int(b[i])) > 40 {
            let x = i % width, y = i / width
            if let r = box { box = (min(r.x0, x), min(r.y0, y), max(r.x1, x), max(r.y1, y)) } else { box = (x, y, x, y) }
        }
        return box
    }

    static let aigcProduceID = "ProduceID"

    /// WebM → VP9 + Opus; the Matroska tag, the visible label in the top-right corner, the
    /// audio watermark found after Opus.
    @Test func webmGetsVP9AndOpus() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try Self.makeInput(dir)
        let out = dir + "/out.webm"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "--payload-id", "0xC0FFEE"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("Invalid argument"), "\(r.stderr)")
        let p = try Self.probe(out)
        #expect(p.of("video").map { $0["codec_name"] as? String } == ["vp9"])
        #expect(p.of("audio").map { $0["codec_name"] as? String } == ["opus"])
        #expect(p.allTags["AIGC"]?.contains(Self.aigcProduceID) == true, "\(p.allTags)")
        // The label: bright ink in the top-right corner of a decoded frame, nowhere else.
        let labeled = try TestSupport.lumaFrames(out, width: 320, height: 240)
        let plain = try TestSupport.lumaFrames(input, width: 320, height: 240)
        #expect(labeled.count >= 239 && labeled.count <= 241, "\(labeled.count) frames")
        let box = try #require(Self.inkBox(labeled[100], plain[100], width: 320), "no label ink in frame 100")
        // Top-right, with a margin of about 2% of the short side (4.8 px).
        #expect(box.x1 >= 300 && box.x1 <= 317 && box.y0 >= 2 && box.y0 <= 12 && box.y1 < 80 && box.x0 > 40, "label at \(box)")
        #expect(box.y1 - box.y0 >= 12, "label at \(box): at least 5% of 240 px high")
        let found = try Self.detect(out)
        #expect(found.contains { $0.payload == "0x00C0FFEE" }, "\(found)")
    }

    /// `.mp3` → libmp3lame, no video stream (and one notice naming it), ID3v2 TXXX AIGC, the
    /// watermark found; `.opus` → libopus at 48 kHz from a 44.1 kHz input; `.ogg` → Theora +
    /// Vorbis, the AIGC Vorbis comment.
    @Test(arguments: [("mp3", "mp3", nil), ("opus", "opus", nil), ("ogg", "vorbis", "theora")] as [(String, String, String?)])
    func audioContainersGetTheirCodec(ext: String, audioCodec: String, videoCodec: String?) throws {
        let dir = try TestSupport.temporaryDirectory()
        var input = try Self.makeInput(dir)
        if ext == "opus" {
            // A 44.1 kHz input: Opus takes 48 kHz only.
            let resampled = dir + "/in44.mkv"
            let c = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", input, "-c:v", "copy", "-ar", "44100", "-c:a", "flac", resampled])
            #expect(c.status == 0, "\(c.stderr)")
            input = resampled
        }
        let out = dir + "/out.\(ext)", metrics = dir + "/m.json"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "--payload-id", "0xC0FFEE", "--metrics-json", metrics])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try Self.probe(out)
        #expect(p.of("audio").map { $0["codec_name"] as? String } == [audioCodec], "\(p.streams)")
        #expect(p.of("video").map { $0["codec_name"] as? String } == (videoCodec.map { [$0] } ?? []), "\(p.streams)")
        #expect(p.allTags["AIGC"]?.contains(Self.aigcProduceID) == true, "\(p.allTags)")
        let lanes = try Self.lanes(metrics)
        if videoCodec == nil {
            #expect(lanes["video"] == nil, "no video lane in the report: \(lanes.keys)")
            let notices = r.errorLines.filter { $0.contains("holds no video") }
            #expect(notices.count == 1 && notices[0].contains("video stream #0 (h264)"), "\(r.stderr)")
        }
        if ext == "opus" { #expect(p.of("audio").first?["sample_rate"] as? String == "48000") }
        let found = try Self.detect(out)
        #expect(found.contains { $0.payload == "0x00C0FFEE" }, "\(ext): \(found)")
    }

    /// A 24-bit WAV stays 24-bit (pcm_s24le), a 16-bit one 16-bit; the AIGC field is in a RIFF
    /// chunk `AIGC` (read by walking the chunks) and in LIST/INFO (read by ffprobe).
    @Test(arguments: [("pcm_s24le", "pcm_s24le", 24), ("pcm_s16le", "pcm_s16le", 16)])
    func wavKeepsDepthAndCarriesAIGC(inCodec: String, outCodec: String, bits: Int) throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.wav", out = dir + "/out.wav"
        try TestSupport.makeMedia(input, seconds: 3, video: nil, audio: "sine=frequency=440:sample_rate=48000", extra: ["-c:a", inCodec])
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("no place for AIGC"), "\(r.stderr)")
        let p = try Self.probe(out)
        let a = try #require(p.of("audio").first)
        #expect(a["codec_name"] as? String == outCodec)
        #expect(a["bits_per_sample"] as? Int == bits)
        // LIST/INFO, as FFmpeg's wav demuxer reads it.
        let tagged = try #require(p.allTags["AIGC"], "\(p.allTags)")
        let value = try JSONSerialization.jsonObject(with: Data(tagged.utf8)) as? [String: Any]
        #expect((value?["AIGC"] as? [String: Any])?["Label"] as? String == "1", "\(tagged)")
        // The RIFF chunks, walked by hand from the file's bytes.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        func le32(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24 }
        #expect(String(decoding: bytes[0..<4], as: UTF8.self) == "RIFF" && String(decoding: bytes[8..<12], as: UTF8.self) == "WAVE")
        #expect(le32(4) == bytes.count - 8, "the RIFF size covers the appended chunks")
        var chunks: [String: [UInt8]] = [:]
        var at = 12
        while at + 8 <= bytes.count {
            let id = String(decoding: bytes[at..<(at + 4)], as: UTF8.self), size = le32(at + 4)
            chunks[id] = Array(bytes[(at + 8)..<min(bytes.count, at + 8 + size)])
            at += 8 + size + (size & 1)
        }
        #expect(at == bytes.count, "chunks tile the file exactly")
        #expect(chunks["data"] != nil)
        let aigc = try #require(chunks["AIGC"], "chunks: \(chunks.keys.sorted())")
        #expect(String(decoding: aigc, as: UTF8.self) == tagged)
        // The audio itself: as many samples as went in.
        #expect(abs(try TestSupport.audioSampleCount(out) - TestSupport.audioSampleCount(input)) <= 1024)
        // A second pass reads the marking back (LIST/INFO) and keeps the producer's ProduceID.
        let again = dir + "/again.wav"
        let r2 = try TestSupport.labelcast(["run", "-i", out, "-o", again, "--synthetic", "auto"])
        #expect(r2.status == 0 && r2.stderr.contains("the input declares AIGC metadata"), "\(r2.stderr)")
        let first = (value?["AIGC"] as? [String: Any])?["ProduceID"] as? String
        let kept = try #require(try Self.probe(again).allTags["AIGC"])
        let second = try JSONSerialization.jsonObject(with: Data(kept.utf8)) as? [String: Any]
        #expect(first != nil && (second?["AIGC"] as? [String: Any])?["ProduceID"] as? String == first, "\(kept)")
    }

    /// A 24-bit FLAC comes out 24-bit (s32 samples, 24 raw bits whose low byte is used), and a
    /// video input to `.flac` reports no video lane.
    @Test func flacKeeps24Bits() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mkv", out = dir + "/out.flac", metrics = dir + "/m.json"
        try TestSupport.makeMedia(input, seconds: 3, audio: "sine=frequency=440:sample_rate=48000",
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "flac", "-sample_fmt", "s32", "-bits_per_raw_sample", "24"])
        let inAudio = try #require(try Self.probe(input).of("audio").first)
        #expect(inAudio["bits_per_raw_sample"] as? String == "24", "the input is 24-bit: \(inAudio)")
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "--metrics-json", metrics])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try Self.probe(out)
        #expect(p.of("video").isEmpty)
        let a = try #require(p.of("audio").first)
        #expect(a["codec_name"] as? String == "flac")
        #expect(a["sample_fmt"] as? String == "s32")
        #expect(a["bits_per_raw_sample"] as? String == "24")
        #expect(p.allTags["AIGC"] != nil, "Vorbis comment AIGC: \(p.allTags)")
        // Decoded as s32: a 16-bit path would leave bits 8-15 zero in every sample.
        let d = try TestSupport.run("ffmpeg", ["-v", "error", "-i", out, "-f", "s32le", "-ac", "1", "-"])
        let words = d.stdout.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        let deep = words.filter { ($0 >> 8) & 0xFF != 0 }.count
        #expect(words.count > 100_000 && deep > words.count / 2, "\(deep) of \(words.count) samples use the low 8 of 24 bits")
        let lanes = try Self.lanes(metrics)
        #expect(lanes["video"] == nil && lanes["audio"] != nil, "\(lanes.keys)")
        #expect(!r.errorLines.contains { $0.hasPrefix("video: ") }, "no video lane in the summary: \(r.stderr)")
    }

    /// `.m4a` from a video input: AAC only, no video track, no video frames reported.
    @Test func m4aFromVideoHasNoVideo() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", out = dir + "/out.m4a", metrics = dir + "/m.json"
        try TestSupport.makeMedia(input, seconds: 2)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "--metrics-json", metrics])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try Self.probe(out)
        #expect(p.streams.map { $0["codec_name"] as? String } == ["aac"], "\(p.streams)")
        #expect(try Self.lanes(metrics)["video"] == nil)
        #expect(r.errorLines.filter { $0.contains("video stream #0 (h264) is left out") }.count == 1, "\(r.stderr)")
    }

    /// `-o - -f mp4`: fragmented MP4 on a pipe, with the AIGC tag in its `moov`.
    @Test func mp4ToStdoutIsFragmented() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", saved = dir + "/piped.mp4"
        try TestSupport.makeMedia(input, seconds: 2)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", "-", "-f", "mp4", "--synthetic", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.count > 10_000)
        try r.stdout.write(to: URL(fileURLWithPath: saved))
        // An fMP4: moov first, then moof/mdat pairs.
        let head = [UInt8](r.stdout.prefix(64 << 10))
        #expect(String(decoding: head[4..<8], as: UTF8.self) == "ftyp")
        #expect(Data(head).range(of: Data("moof".utf8)) != nil, "fragments")
        let p = try Self.probe(saved)
        #expect(p.of("video").map { $0["codec_name"] as? String } == ["h264"])
        #expect(p.of("audio").map { $0["codec_name"] as? String } == ["aac"])
        #expect(p.allTags["AIGC"] != nil, "\(p.allTags)")
        let frames = try TestSupport.probe(saved)
        #expect(frames.first { $0.codecType == "video" }?.frames == 60)
    }

    /// A container that cannot hold a stream: the stream is left out with one notice naming it
    /// (raw H.264 has no audio); an encoder the user chose that the container cannot carry is
    /// one error line that says what it takes.
    @Test func streamsAContainerCannotHold() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 1)
        let raw = dir + "/out.h264"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", raw, "--synthetic", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.errorLines.filter { $0.contains("holds no audio") && $0.contains("audio stream #1 (aac)") }.count == 1, "\(r.stderr)")
        #expect(try Self.probe(raw).streams.map { $0["codec_name"] as? String } == ["h264"])

        let webm = dir + "/out.webm"
        let bad = try TestSupport.labelcast(["run", "-i", input, "-o", webm, "--audio-codec", "aac"])
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.errorLines.count == 1 && bad.stderr.contains("cannot carry aac") && bad.stderr.contains("libopus"), "\(bad.stderr)")
        #expect(!bad.stderr.contains("Invalid argument"))
        #expect(TestSupport.files(in: dir) == ["in.mp4", "out.h264"])
    }
}
