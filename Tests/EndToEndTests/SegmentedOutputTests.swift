import Foundation
import Testing
import TestSupport

/// HLS (MPEG-TS and fMP4 segments), DASH and low-latency CMAF outputs, each checked from the
/// outside: every playlist and segment probed with ffprobe, the AIGC marking found in each of
/// its places (timed ID3 in TS segments, `emsg` boxes in fMP4 segments read by a small Python
/// box walker, the init segment's tag, `EXT-X-DATERANGE` lines, the MPD's EventStream), segment
/// files named visibly, and nothing left behind when a run fails.
@Suite(.serialized) struct SegmentedOutputTests {
    static let fps = 30.0

    static func makeInput(_ dir: String, seconds: Double = 6) throws -> String {
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: seconds, video: "testsrc2=size=160x120:rate=30", audio: "sine=f=440:sample_rate=48000",
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        return input
    }

    /// The `emsg` boxes at the top level of an fMP4 file (version, scheme, value, timescale,
    /// presentation time, duration, id, message bytes in hex), and where they sit: the number
    /// of top-level boxes before the first one and before the first `moof`, and the `moof` count.
    static let boxWalker = #"""
    import json, struct, sys
    b = open(sys.argv[1], 'rb').read()
    o, boxes = 0, []
    while o + 8 <= len(b):
        size, kind = struct.unpack('>I4s', b[o:o+8])
        if size == 1: size = struct.unpack('>Q', b[o+8:o+16])[0]
        if size < 8: break
        boxes.append((kind.decode('latin1'), o, size))
        o += size
    out = {'boxes': [k for k, _, _ in boxes], 'emsg': []}
    for kind, at, size in boxes:
        if kind != 'emsg': continue
        p = at + 8
        version = b[p]; p += 4
        if version == 1:
            ts, pt, dur, eid = struct.unpack('>IQII', b[p:p+20]); p += 20
            end = b.index(b'\0', p); scheme = b[p:end].decode(); p = end + 1
            end = b.index(b'\0', p); value = b[p:end].decode(); p = end + 1
        else:
            end = b.index(b'\0', p); scheme = b[p:end].decode(); p = end + 1
            end = b.index(b'\0', p); value = b[p:end].decode(); p = end + 1
            ts, pt, dur, eid = struct.unpack('>IIII', b[p:p+16]); p += 16
        out['emsg'].append({'version': version, 'scheme': scheme, 'value': value, 'timescale': ts, 'time': pt,
                            'duration': dur, 'id': eid, 'data': b[p:at+size].hex()})
    print(json.dumps(out))
    """#

    struct Emsg { let version: Int; let scheme: String; let timescale: Int; let time: Int; let duration: Int; let id: Int; let data: [UInt8] }
    struct Walk { let boxes: [String]; let emsg: [Emsg] }

    static func walk(_ path: String) throws -> Walk {
        let r = try TestSupport.run("python3", ["-c", boxWalker, path])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let emsg = (json["emsg"] as? [[String: Any]] ?? []).map { e in
            let hex = e["data"] as? String ?? ""
            var bytes: [UInt8] = []
            var i = hex.startIndex
            while i < hex.endIndex { let j = hex.index(i, offsetBy: 2); bytes.append(UInt8(hex[i..<j], radix: 16)!); i = j }
            return Emsg(version: e["version"] as? Int ?? -1, scheme: e["scheme"] as? String ?? "", timescale: e["timescale"] as? Int ?? 0,
                        time: e["time"] as? Int ?? -1, duration: e["duration"] as? Int ?? -1, id: e["id"] as? Int ?? -1, data: bytes)
        }
        return Walk(boxes: json["boxes"] as? [String] ?? [], emsg: emsg)
    }

    /// ffprobe's view of one file: its duration and its streams' kinds.
    static func probeFile(_ path: String) throws -> (duration: Double, kinds: [String]) {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-show_format", "-show_streams", "-of", "json", path])
        #expect(r.status == 0, "\(path): \(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        let duration = Double((json["format"] as? [String: Any])?["duration"] as? String ?? "") ?? 0
        let kinds = (json["streams"] as? [[String: Any]] ?? []).compactMap { $0["codec_type"] as? String }
        return (duration, kinds)
    }

    /// Decodes the whole presentation through its playlist (the player's path): no error, and
    /// the decoded video lasts as long as the input.
    /// `tolerated`: a message ffprobe may print without it counting as an error (FFmpeg 5.1's
    /// DASH demuxer says "Error when loading first fragment of playlist" on some runs for a
    /// template manifest without timeline, FFmpeg's own ldash output included, then reads it all).
    static func decodeAll(_ playlist: String, seconds: Double, tolerated: String? = nil) throws {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", playlist])
        let errors = r.errorLines.filter { line in tolerated.map { !line.contains($0) } ?? true }
        #expect(r.status == 0 && errors.isEmpty, "\(playlist): \(r.stderr)")
        // (ffprobe prints the count once per program and once per stream)
        let frames = Int(r.stdoutText.split(whereSeparator: \.isNewline).first?.split(separator: ",").first ?? "") ?? 0
        #expect(abs(Double(frames) - seconds * fps) <= 1, "\(playlist): \(frames) frames decoded, expected \(Int(seconds * fps))")
    }

    /// The ID3 tag (TXXX `AIGC`, the JSON value) in bytes.
    static func holdsAIGC(_ bytes: [UInt8]) -> Bool {
        guard bytes.count > 10, bytes[0] == 0x49, bytes[1] == 0x44, bytes[2] == 0x33 else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.contains("TXXX") && text.contains("AIGC\u{0}{\"AIGC\":{\"Label\":\"1\"")
    }

    static func hiddenFiles(_ dir: String) -> [String] { TestSupport.files(in: dir).filter { $0.hasPrefix(".") } }

    /// The program dates and durations of an HLS playlist's segments, and its date ranges
    /// (start date, duration, the X-AIGC value decoded).
    static func parsePlaylist(_ text: String) -> (segments: [(uri: String, date: Date, duration: Double)], ranges: [(start: Date, duration: Double?, aigc: String, id: String)]) {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var segments: [(String, Date, Double)] = []
        var ranges: [(Date, Double?, String, String)] = []
        var date: Date? = nil, duration = 0.0
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("#EXT-X-PROGRAM-DATE-TIME:") { date = f.date(from: String(line.dropFirst(25))) }
            else if line.hasPrefix("#EXTINF:") { duration = Double(line.dropFirst(8).prefix { $0 != "," }) ?? 0 }
            else if line.hasPrefix("#EXT-X-DATERANGE:") {
                func attr(_ name: String) -> String? {
                    guard let r = line.range(of: name + "=") else { return nil }
                    let rest = line[r.upperBound...]
                    if rest.hasPrefix("\"") { return String(rest.dropFirst().prefix { $0 != "\"" }) }
                    return String(rest.prefix { $0 != "," })
                }
                let hex = attr("X-AIGC").map { String($0.dropFirst(2)) } ?? ""
                var bytes: [UInt8] = []
                var i = hex.startIndex
                while hex.distance(from: i, to: hex.endIndex) >= 2 { let j = hex.index(i, offsetBy: 2); bytes.append(UInt8(hex[i..<j], radix: 16) ?? 0); i = j }
                #expect(attr("CLASS") == "org.labelcast.aigc", "\(line)")
                ranges.append((iso.date(from: attr("START-DATE") ?? "") ?? .distantPast, attr("DURATION").flatMap(Double.init),
                               String(decoding: bytes, as: UTF8.self), attr("ID") ?? ""))
            } else if !line.isEmpty, !line.hasPrefix("#"), let d = date {
                segments.append((line, d, duration)); date = nil
            }
        }
        return (segments, ranges)
    }

    // MARK: HLS

    @Test(arguments: ["mpegts", "fmp4"])
    func hlsWithTheWholeStreamSynthetic(segmentType: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hls")
        let input = try Self.makeInput(dir)
        let out = dir + "/out/live.m3u8"
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "--muxer-opt", "hls_segment_type=\(segmentType)"])
        #expect(r.status == 0, "\(r.stderr)")
        try checkHLS(dir: dir + "/out", playlist: out, fmp4: segmentType == "fmp4", synthetic: [(0, 6)])
    }

    @Test(arguments: ["mpegts", "fmp4"])
    func hlsWithASchedule(segmentType: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hls-schedule")
        let input = try Self.makeInput(dir)
        let out = dir + "/out.m3u8"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--segments", "2.5-3.5", "--muxer-opt", "hls_segment_type=\(segmentType)",
                                           "--muxer-opt", "hls_time=1", "--gop", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        try checkHLS(dir: dir, playlist: out, fmp4: segmentType == "fmp4", synthetic: [(2.5, 3.5)], segmentSeconds: 1)
    }

    /// The common checks: visible names, every segment playable and as long as the playlist
    /// says, the marking in each segment that holds synthetic frames and in none other.
    func checkHLS(dir: String, playlist: String, fmp4: Bool, synthetic: [(Double, Double)], segmentSeconds: Double = 2) throws {
        #expect(Self.hiddenFiles(dir).isEmpty, "hidden files: \(Self.hiddenFiles(dir))")
        let text = try String(contentsOfFile: playlist, encoding: .utf8)
        #expect(text.contains("#EXT-X-ENDLIST"), "\(text)")
        let (segments, ranges) = Self.parsePlaylist(text)
        #expect(segments.count == Int(6 / segmentSeconds), "\(text)")
        try Self.decodeAll(playlist, seconds: 6)
        let stem = ((playlist as NSString).lastPathComponent as NSString).deletingPathExtension
        if fmp4 {
            // The init segment: named after the playlist, with the AIGC tag in moov/udta/meta.
            #expect(text.contains("#EXT-X-MAP:URI=\"\(stem)_init.mp4\""), "\(text)")
            let tags = try ProvenanceTests.probe(dir + "/\(stem)_init.mp4").tags
            #expect(tags["AIGC"]?.hasPrefix("{\"AIGC\":{\"Label\":\"1\"") == true, "init tags: \(tags)")
        }
        // EXT-X-DATERANGE: one per synthetic range, on the program-date timeline.
        let origin = try #require(segments.first?.date)
        #expect(ranges.count == synthetic.count, "\(text)")
        for (range, want) in zip(ranges, synthetic) {
            let start = range.start.timeIntervalSince(origin)
            #expect(abs(start - want.0) <= 1 / Self.fps + 0.002, "DATERANGE starts at \(start), expected \(want.0)")
            #expect(abs((range.duration ?? -1) - (want.1 - want.0)) <= 1 / Self.fps + 0.002, "DATERANGE duration \(String(describing: range.duration))")
            #expect(range.aigc.hasPrefix("{\"AIGC\":{\"Label\":\"1\""), "X-AIGC: \(range.aigc)")
        }
        var offset = 0.0
        for (i, segment) in segments.enumerated() {
            #expect(!segment.uri.hasPrefix("."), "\(segment.uri)")
            #expect(segment.uri.hasPrefix(stem), "segment \(segment.uri) is not named after the playlist")
            let path = dir + "/" + segment.uri
            #expect(abs(segment.date.timeIntervalSince(origin) - offset) < 0.01)
            let overlaps = synthetic.contains { $0.0 < offset + segment.duration - 0.01 && $0.1 > offset + 0.01 }
            if fmp4 {
                // Playable with its init segment in front, as a player joins it.
                let joined = dir + "/joined-\(i).mp4"
                let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/\(stem)_init.mp4")) + Data(contentsOf: URL(fileURLWithPath: path))
                try bytes.write(to: URL(fileURLWithPath: joined))
                let p = try Self.probeFile(joined)
                #expect(p.kinds.sorted() == ["audio", "video"], "\(segment.uri): \(p.kinds)")
                try? FileManager.default.removeItem(atPath: joined)
                let w = try Self.walk(path)
                if overlaps {
                    let e = try #require(w.emsg.first, "segment \(i) (\(offset) s) holds synthetic frames but no emsg: \(w.boxes)")
                    #expect(w.emsg.count == 1)
                    #expect(e.version == 1 && e.scheme == "https://aomedia.org/emsg/ID3" && e.timescale == 90000, "\(e)")
                    #expect(abs(Double(e.time) / 90000 - synthetic[0].0) <= 1 / Self.fps + 0.002, "emsg at \(Double(e.time) / 90000)")
                    #expect(Self.holdsAIGC(e.data), "emsg message is not the AIGC ID3 tag")
                    // Before the first moof, after styp.
                    let firstMoof = try #require(w.boxes.firstIndex(of: "moof"))
                    #expect(w.boxes.firstIndex(of: "emsg")! < firstMoof, "\(w.boxes)")
                } else {
                    #expect(w.emsg.isEmpty, "segment \(i) (\(offset) s) has no synthetic frames but \(w.emsg.count) emsg")
                }
            } else {
                let p = try Self.probeFile(path)
                #expect(p.kinds.contains("video") && p.kinds.contains("audio"), "\(segment.uri): \(p.kinds)")
                // As long as the playlist says: its video frames (a TS file's own duration
                // includes the audio's lead and the 0.7 s mux delay, so it says less).
                let count = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path])
                let frames = Int(count.stdoutText.split(whereSeparator: \.isNewline).first ?? "") ?? 0
                #expect(abs(Double(frames) - segment.duration * Self.fps) <= 1, "\(segment.uri): \(frames) frames, playlist says \(segment.duration) s")
                // Timed ID3 in the segment's data stream, as HLS players read it.
                let data = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:d?", "-c", "copy", "-f", "data", "-"])
                let holds = data.stdout.range(of: Data("AIGC\u{0}{\"AIGC\":{\"Label\":\"1\"".utf8)) != nil
                #expect(holds == overlaps, "segment \(i) (\(offset) s): synthetic \(overlaps), ID3 AIGC \(holds)")
            }
            offset += segment.duration
        }
    }

    // MARK: DASH and low-latency CMAF

    @Test(arguments: [false, true])
    func dashWithAScheduleCarriesEventsAndEmsg(lowLatency: Bool) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-dash")
        let input = try Self.makeInput(dir)
        let out = dir + "/show.mpd"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--segments", "2.5-3.5"] + (lowLatency ? ["--cmaf-ll"] : []))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.hiddenFiles(dir).isEmpty, "hidden files: \(Self.hiddenFiles(dir))")
        let mpd = try String(contentsOfFile: out, encoding: .utf8)
        // The MPD: an EventStream first in the period, one Event for the range (ms).
        #expect(mpd.contains("<EventStream schemeIdUri=\"urn:org.labelcast:aigc:2026\""), "\(mpd)")
        let event = try #require(mpd.range(of: #"<Event id="1" presentationTime="(\d+)" duration="(\d+)">"#, options: .regularExpression).map { String(mpd[$0]) }, "\(mpd)")
        let numbers = event.split(separator: "\"").compactMap { Int($0) }
        #expect(numbers.count == 3 && abs(numbers[1] - 2500) <= 34 && abs(numbers[2] - 1000) <= 34, "\(event)")
        #expect(mpd.components(separatedBy: "<InbandEventStream schemeIdUri=\"https://aomedia.org/emsg/ID3\"").count - 1 == 2, "\(mpd)")
        // ldash: segments announced before they are complete (availabilityTimeOffset).
        if lowLatency { #expect(mpd.contains("availabilityTimeOffset=\"1.500\""), "not an ldash manifest: \(mpd)") }
        try Self.decodeAll(out, seconds: 6, tolerated: lowLatency ? "Error when loading first fragment of playlist" : nil)
        // Each representation: its init tagged, each segment playable behind it, emsg exactly
        // in the segments that overlap 2.5-3.5 s (2 s segments: the second one, 2-4 s).
        for rep in ["0", "1"] {
            let initPath = dir + "/show-\(rep)-init.m4s"
            let tags = try ProvenanceTests.probe(initPath).tags
            #expect(tags["AIGC"]?.hasPrefix("{\"AIGC\":{\"Label\":\"1\"") == true, "init \(rep) tags: \(tags)")
            let segments = TestSupport.files(in: dir).filter { $0.hasPrefix("show-\(rep)-") && !$0.contains("init") }.sorted()
            #expect(segments.count >= 3, "\(TestSupport.files(in: dir))")
            for (i, name) in segments.enumerated() {
                let w = try Self.walk(dir + "/" + name)
                let joined = dir + "/joined.mp4"
                try (Data(contentsOf: URL(fileURLWithPath: initPath)) + Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))).write(to: URL(fileURLWithPath: joined))
                let p = try Self.probeFile(joined)
                #expect(p.kinds.count == 1 && p.duration > 0, "\(name): \(p)")
                try? FileManager.default.removeItem(atPath: joined)
                // 0.5 s chunks: four per 2 s segment (the last audio segment holds a frame or two).
                if lowLatency, i < 3 { #expect(w.boxes.filter { $0 == "moof" }.count >= 3, "\(name): not chunked: \(w.boxes)") }
                if i == 1 {
                    let e = try #require(w.emsg.first, "\(name) overlaps the range but has no emsg: \(w.boxes)")
                    #expect(e.version == 1 && e.scheme == "https://aomedia.org/emsg/ID3" && e.id == 1)
                    #expect(abs(Double(e.time) / 90000 - 2.5) <= 0.034 && abs(Double(e.duration) / 90000 - 1.0) <= 0.034, "\(e)")
                    #expect(Self.holdsAIGC(e.data))
                    #expect(w.boxes.firstIndex(of: "emsg")! < w.boxes.firstIndex(of: "moof")!, "\(w.boxes)")
                } else if i != 1 && (i == 0 || i >= 2) && !(rep == "1" && i == 2) {
                    // (audio segments end a frame or two off the video's; the third audio one may
                    // start a few ms before 4 s, still outside 2.5-3.5)
                    #expect(w.emsg.isEmpty, "\(name) has \(w.emsg.count) emsg outside the range")
                }
            }
        }
    }

    @Test(arguments: [false, true])
    func dashWithTheWholeStreamSynthetic(lowLatency: Bool) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-dash-all")
        let input = try Self.makeInput(dir)
        let out = dir + "/all.mpd"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all"] + (lowLatency ? ["--cmaf-ll"] : []))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.hiddenFiles(dir).isEmpty, "hidden files: \(Self.hiddenFiles(dir))")
        let mpd = try String(contentsOfFile: out, encoding: .utf8)
        let event = try #require(mpd.range(of: #"<Event id="1" presentationTime="(\d+)" duration="(\d+)">"#, options: .regularExpression).map { String(mpd[$0]) }, "\(mpd)")
        let numbers = event.split(separator: "\"").compactMap { Int($0) }
        #expect(numbers.count == 3 && numbers[1] == 0 && abs(numbers[2] - 6000) <= 34, "\(event)")
        try Self.decodeAll(out, seconds: 6, tolerated: lowLatency ? "Error when loading first fragment of playlist" : nil)
        let segments = TestSupport.files(in: dir).filter { $0.hasPrefix("all-") && !$0.contains("init") }.sorted()
        #expect(segments.count >= 6, "\(segments)")
        for name in segments {
            let w = try Self.walk(dir + "/" + name)
            let size = (try FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? 0
            if name == segments.last, name.hasPrefix("all-1-"), size < 2000 {
                // The audio's last segment may hold only the encoder's tail (one AAC frame)
                // after the programme's end (6 s), which the range does not reach.
                continue
            }
            let e = try #require(w.emsg.first, "\(name): no emsg though the whole stream is synthetic")
            // Duration: unknown (0xFFFFFFFF) while the range was still open when the segment
            // was written, the whole 6 s in the segments written after it closed.
            let duration = Double(e.duration) / 90000
            #expect(w.emsg.count == 1 && e.time == 0 && (e.duration == 0xFFFF_FFFF || abs(duration - 6) <= 0.034) && Self.holdsAIGC(e.data), "\(name): \(e)")
        }
    }

    // MARK: options and failures

    @Test func anUnknownMuxerOptionIsAOneLineErrorAndWritesNothing() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-muxer-opt")
        let input = try Self.makeInput(dir, seconds: 1)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/o.m3u8", "--muxer-opt", "hls_tiem=4", "--synthetic", "all"])
        #expect(r.status == 2, "\(r.status) \(r.stderr)")
        #expect(r.errorLines.count == 1 && r.stderr.contains("hls_tiem") && r.stderr.contains("ffmpeg -h muxer=hls"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4"], "\(TestSupport.files(in: dir))")
        let bad = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/o.m3u8", "--muxer-opt", "hls_time"])
        #expect(bad.status >= 2 && bad.stderr.contains("KEY=VALUE"), "\(bad.stderr)")
        let ll = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/o.m3u8", "--cmaf-ll"])
        #expect(ll.status == 2 && ll.stderr.contains("--cmaf-ll"), "\(ll.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4"], "\(TestSupport.files(in: dir))")
    }

    /// A run that fails after its segments were written (here: the metrics report, written
    /// last but one, cannot be) leaves neither playlist nor segments.
    @Test(arguments: ["m3u8", "mpd"])
    func aFailedRunLeavesNoSegments(ext: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-segments-fail")
        let input = try Self.makeInput(dir, seconds: 3)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/metrics.json", withIntermediateDirectories: true)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out/o." + ext, "--synthetic", "all", "--metrics-json", dir + "/metrics.json"])
        #expect(r.status >= 2, "\(r.stderr)")
        #expect(TestSupport.files(in: dir + "/out").isEmpty, "left behind: \(TestSupport.files(in: dir + "/out"))")
    }

    /// Switched synthetic through the control API during a run: the segments from the switch
    /// on carry the emsg, those before do not, and the playlist's date range starts there.
    @Test(.timeLimit(.minutes(2)))
    func aLiveSwitchMarksTheSegmentsFromTheSwitchOn() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hls-live")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 4, video: "testsrc2=size=160x120:rate=30")
        let out = dir + "/sw.m3u8"
        let t = try LiveMarkingTests.runSwitched(dir, input: dir + "/in.mp4", output: out,
                                                 extra: ["--muxer-opt", "hls_segment_type=fmp4", "--muxer-opt", "hls_time=1", "--gop", "1"])
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let (segments, ranges) = Self.parsePlaylist(text)
        let origin = try #require(segments.first?.date)
        let range = try #require(ranges.first, "\(text)")
        #expect(abs(range.start.timeIntervalSince(origin) - t) <= 0.1, "DATERANGE at \(range.start.timeIntervalSince(origin)), switch at \(t)")
        // The init segment, written before the switch, gets the tag once the run turned synthetic.
        let tags = try ProvenanceTests.probe(dir + "/sw_init.mp4").tags
        #expect(tags["AIGC"]?.hasPrefix("{\"AIGC\":{\"Label\":\"1\"") == true, "init tags: \(tags)")
        var offset = 0.0
        for segment in segments {
            let w = try Self.walk(dir + "/" + segment.uri)
            let after = offset + segment.duration > t + 0.05
            #expect(w.emsg.isEmpty != after, "segment at \(offset) s (switch at \(t)): \(w.emsg.count) emsg")
            offset += segment.duration
        }
    }
}
