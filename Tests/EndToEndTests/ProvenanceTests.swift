import Foundation
import Testing
import TestSupport

/// Machine-readable provenance end to end, read back with ffprobe: the GB 45438 AIGC tag,
/// chapters, MPEG-TS timed metadata, the sidecar, input provenance and the audible cue.
@Suite(.serialized) struct ProvenanceTests {
    static let keys = ["Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID", "ReservedCode2"]

    static func expected(producer: String, id: String, propagator: String? = nil, propagateID: String? = nil, label: String = "1", reserved1: String = "") -> String {
        #"{"AIGC":{"Label":"\#(label)","ContentProducer":"\#(producer)","ProduceID":"\#(id)","ReservedCode1":"\#(reserved1)","ContentPropagator":"\#(propagator ?? producer)","PropagateID":"\#(propagateID ?? id)","ReservedCode2":""}}"#
    }

    /// ffprobe's format tags and chapters (start, end, title).
    static func probe(_ path: String) throws -> (tags: [String: String], chapters: [(Double, Double, String)]) {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-show_format", "-show_chapters", "-of", "json", path])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        let tags = (json["format"] as? [String: Any])?["tags"] as? [String: String] ?? [:]
        let chapters = (json["chapters"] as? [[String: Any]] ?? []).map { c in
            (Double(c["start_time"] as? String ?? "") ?? -1, Double(c["end_time"] as? String ?? "") ?? -1,
             (c["tags"] as? [String: String])?["title"] ?? "")
        }
        return (tags, chapters)
    }

    /// The value parses as JSON with exactly the seven string fields under "AIGC".
    static func checkShape(_ value: String) throws {
        let top = try #require(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])
        let inner = try #require(top["AIGC"] as? [String: String], "all values are strings")
        #expect(Set(inner.keys) == Set(keys))
    }

    func makeInput(_ dir: String, seconds: Double = 4, extra: [String] = []) throws -> String {
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: seconds, video: "testsrc2=size=160x120:rate=30", audio: "sine=f=440:sample_rate=48000",
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"] + extra)
        return input
    }

    @Test(arguments: ["mp4", "mkv"])
    func tagIsByteExactAndChaptersMatchTheFrames(container: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try makeInput(dir)
        let output = dir + "/out." + container
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--segments", "0.51-1.5,2.2-",
                                           "--aigc-producer", "org.example:news", "--aigc-produce-id", "run-0042"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("ProduceID run-0042"), "\(r.stderr)")
        let p = try Self.probe(output)
        let value = try #require(p.tags["AIGC"], "tags: \(p.tags)")
        #expect(value == Self.expected(producer: "org.example:news", id: "run-0042"))
        try Self.checkShape(value)
        // At 30 fps the first synthetic frames are 16 (0.533 s) and 66 (2.2 s); the first
        // segment ends at frame 45 (1.5 s), the open one at the end of the stream (frame 120).
        let labeled = p.chapters.filter { $0.2 == "AI生成 · AI-generated" }
        #expect(labeled.count == 2, "\(p.chapters)")
        let want: [(Double, Double)] = [(16.0 / 30, 45.0 / 30), (66.0 / 30, 120.0 / 30)]
        for (c, w) in zip(labeled, want) {
            #expect(abs(c.0 - w.0) < 0.002 && abs(c.1 - w.1) < 0.002, "chapter \(c), expected \(w)")
        }
        // MP4 chapters tile the timeline: the programme between gets untitled chapters.
        #expect(p.chapters.allSatisfy { $0.2.isEmpty || $0.2 == "AI生成 · AI-generated" })
    }

    @Test func flvCarriesTheTag() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try makeInput(dir, seconds: 1)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.flv", "--synthetic", "all", "--aigc-produce-id", "f-1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.probe(dir + "/out.flv").tags["AIGC"] == Self.expected(producer: "labelcast", id: "f-1"))
    }

    @Test func noSyntheticPartsNoTag() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try makeInput(dir, seconds: 1)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mkv"])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try Self.probe(dir + "/out.mkv")
        #expect(p.tags.keys.allSatisfy { !$0.uppercased().contains("AIGC") } && p.chapters.isEmpty)
    }

    /// MPEG-TS: a timed_id3 data stream, one ID3 tag at each segment start, the JSON inside.
    @Test func transportStreamCarriesTimedID3AtEachSegmentStart() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try makeInput(dir)
        let output = dir + "/out.ts"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--segments", "1-2.5,3-", "--aigc-produce-id", "ts-7"])
        #expect(r.status == 0, "\(r.stderr)")
        let streams = try TestSupport.probe(output)
        #expect(streams.contains { $0.codecType == "data" && $0.codecName == "timed_id3" }, "\(streams.map(\.codecName))")
        let video = try #require(streams.first { $0.codecType == "video" })
        let q = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "d", "-show_packets", "-show_data", "-of", "json", output])
        let json = try JSONSerialization.jsonObject(with: q.stdout) as? [String: Any] ?? [:]
        let packets = json["packets"] as? [[String: Any]] ?? []
        // Media time = pts minus the shift the TS muxer applied to all streams (video starts at 0).
        let times = packets.compactMap { Double($0["pts_time"] as? String ?? "") }.map { $0 - video.startTime }
        #expect(times.count == 2, "\(times)")
        for (t, w) in zip(times, [1.0, 3.0]) { #expect(abs(t - w) < 1.0 / 30 + 1e-3, "ID3 at \(t), segment at \(w)") }
        // ffprobe's hex dump, back to bytes. (FFmpeg 5.1's demuxer drops the first 5 bytes of a
        // timed_id3 PES, "ID3\4\0", as if it were a metadata AU header; the TXXX frame follows.)
        let expected = Self.expected(producer: "labelcast", id: "ts-7")
        for p in packets {
            let bytes = Self.bytes(fromHexDump: p["data"] as? String ?? "")
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.contains("TXXX") && text.contains("AIGC\u{0}" + expected), "\(text)")
        }
        // The raw file has the whole tag: "ID3" v2.4 right before the TXXX frame.
        let raw = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(raw.range(of: Data("ID3\u{4}\u{0}\u{0}".utf8) + Data([0, 0])) != nil)
    }

    /// A JSON number, whether Foundation read it as an integer or a double.
    static func number(_ v: Any?) -> Double { (v as? NSNumber)?.doubleValue ?? -1 }

    static func bytes(fromHexDump dump: String) -> [UInt8] {
        var out: [UInt8] = []
        for line in dump.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let hex = line[line.index(after: colon)...].prefix(41).replacingOccurrences(of: " ", with: "")
            var i = hex.startIndex
            while let j = hex.index(i, offsetBy: 2, limitedBy: hex.endIndex), i < hex.endIndex {
                if let b = UInt8(hex[i..<j], radix: 16) { out.append(b) }
                i = j
            }
        }
        return out
    }

    @Test func autoTreatsATaggedInputAsSyntheticAndKeepsItsProducer() throws {
        let dir = try TestSupport.temporaryDirectory()
        let original = Self.expected(producer: "studio-x", id: "p-42", reserved1: "sig-1")
        let tagged = dir + "/tagged.mkv", plain = dir + "/plain.mkv"
        try TestSupport.makeMedia(tagged, seconds: 1, video: "testsrc2=size=160x120:rate=30", extra: ["-metadata", "AIGC=" + original])
        try TestSupport.makeMedia(plain, seconds: 1, video: "testsrc2=size=160x120:rate=30")
        var r = try TestSupport.labelcast(["run", "-i", tagged, "-o", dir + "/out.mp4", "--synthetic", "auto",
                                           "--aigc-produce-id", "lc-1", "--segments-out", dir + "/seg.json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("declares AIGC metadata"), "\(r.stderr)")
        #expect(r.stderr.contains("video: 30 frames in = 30 out + 0 dropped; 30 labeled"), "\(r.stderr)")
        let value = try #require(try Self.probe(dir + "/out.mp4").tags["AIGC"])
        #expect(value == Self.expected(producer: "studio-x", id: "p-42", propagator: "labelcast", propagateID: "lc-1", reserved1: "sig-1"))
        // The sidecar: one segment, the whole stream, with the same value.
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/seg.json"))) as? [String: Any] ?? [:]
        #expect(sidecar["aigc"] as? String == value)
        let segments = sidecar["segments"] as? [[String: Any]] ?? []
        #expect(segments.count == 1)
        // (Matroska times are in ms: the first video frame may sit a few ms after the audio's.)
        #expect(abs(Self.number(segments.first?["start"])) < 0.01 && abs(Self.number(segments.first?["end"]) - 1) < 0.01, "\(segments)")
        #expect((segments.first?["labeledPackets"] as? [String: Int])?["video"] == 30)

        // No tag: not synthetic, nothing labeled, no tag written.
        r = try TestSupport.labelcast(["run", "-i", plain, "-o", dir + "/out2.mkv", "--synthetic", "auto"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("has no AIGC metadata"), "\(r.stderr)")
        #expect(r.stderr.contains("0 labeled"), "\(r.stderr)")
        #expect(try Self.probe(dir + "/out2.mkv").tags["AIGC"] == nil)

        // Not synthetic by choice: the input's marking is still never stripped.
        r = try TestSupport.labelcast(["run", "-i", tagged, "-o", dir + "/out3.mkv", "--aigc-produce-id", "lc-3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.probe(dir + "/out3.mkv").tags["AIGC"]
                == Self.expected(producer: "studio-x", id: "p-42", propagator: "labelcast", propagateID: "lc-3", reserved1: "sig-1"))
    }

    @Test func sidecarListsTheRangesWritten() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try makeInput(dir, seconds: 3)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mkv", "--segments", "0.5-1,2-", "--segments-out", dir + "/s.json",
                                           "--aigc-produce-id", "s-1", "--payload-id", "42"])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/s.json"))) as? [String: Any] ?? [:]
        #expect(s["aigc"] as? String == Self.expected(producer: "labelcast", id: "s-1"))
        let segs = (s["segments"] as? [[String: Any]] ?? []).map { (Self.number($0["start"]), Self.number($0["end"])) }
        #expect(segs.count == 2)
        let want = [(0.5, 1.0), (2.0, 3.0)]
        for (a, b) in zip(segs, want) { #expect(abs(a.0 - b.0) < 1e-3 && abs(a.1 - b.1) < 1e-3, "\(segs)") }
        #expect(s["payloadID"] as? String == "0x0000002A")
    }

    @Test(arguments: [(["--aigc-producer", "my studio"], "--aigc-producer"), (["--aigc-produce-id", "id#1"], "--aigc-produce-id"),
                      (["--audible-cue", "beep"], "--audible-cue"), (["--audible-cue", "morse", "--cue-level", "6"], "--cue-level")])
    func badProvenanceOptions(args: [String], mentions: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        try TestSupport.makeMedia(dir + "/in.mkv", seconds: 0.2, video: "testsrc2=size=160x120:rate=10", audio: nil)
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mkv", "-o", dir + "/out.mkv", "--synthetic", "all"] + args)
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1 && r.stderr.contains(mentions), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mkv"])
    }

    // MARK: audible cue

    /// Decoded mono samples (f32) of a file's audio.
    static func samples(_ path: String) throws -> [Float] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-f", "f32le", "-"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// Amplitude of the `frequency` component over [from, to) seconds (Goertzel).
    static func level(_ x: [Float], rate: Double, frequency: Double, from: Double, to: Double) -> Double {
        let a = Int(from * rate), b = min(x.count, Int(to * rate))
        guard b > a else { return 0 }
        let w = 2 * Double.pi * frequency / rate
        var re = 0.0, im = 0.0
        for i in a..<b { re += Double(x[i]) * cos(w * Double(i)); im -= Double(x[i]) * sin(w * Double(i)) }
        return 2 * sqrt(re * re + im * im) / Double(b - a)
    }

    @Test func morseCueAtTheSegmentStartAndNotWhenOff() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.wav"
        try TestSupport.makeMedia(input, seconds: 3, video: nil, audio: "sine=frequency=300:sample_rate=48000")
        var r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/cue.m4a", "--segments", "1-", "--audible-cue", "morse"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/off.m4a", "--segments", "1-", "--audible-cue", "off"])  // audio-only outputs get the Morse cue by default
        #expect(r.status == 0, "\(r.stderr)")
        let cue = try Self.samples(dir + "/cue.m4a"), off = try Self.samples(dir + "/off.m4a")
        let rate = 48000.0
        func tone(_ x: [Float], _ a: Double, _ b: Double) -> Double { Self.level(x, rate: rate, frequency: 1000, from: a, to: b) }
        func programme(_ x: [Float], _ a: Double, _ b: Double) -> Double { Self.level(x, rate: rate, frequency: 300, from: a, to: b) }
        // ·− ··: dot 1.0–1.1, dash 1.2–1.5, dots 1.8–1.9 and 2.0–2.1 (s), at -12 dBFS (0.25).
        for (a, b) in [(1.01, 1.09), (1.21, 1.49), (1.81, 1.89), (2.01, 2.09)] {
            #expect(tone(cue, a, b) > 0.2, "tone \(a)-\(b): \(tone(cue, a, b))")
        }
        for (a, b) in [(0.5, 0.95), (1.11, 1.19), (1.51, 1.79), (2.3, 2.9)] {
            #expect(tone(cue, a, b) < 0.01, "quiet \(a)-\(b): \(tone(cue, a, b))")
        }
        #expect(tone(off, 0.9, 2.2) < 0.005)
        // The programme is ducked under the cue and back afterwards; the length is unchanged.
        let before = programme(cue, 0.5, 0.9), under = programme(cue, 1.3, 1.7), after = programme(cue, 2.3, 2.9)
        #expect(under < before / 4, "ducked: \(under) vs \(before)")
        #expect(abs(after - before) < 0.02 * before)
        #expect(cue.count == off.count)
    }
}
