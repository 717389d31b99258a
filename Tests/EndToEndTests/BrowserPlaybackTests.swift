import Foundation
import Testing
import TestSupport

/// Debian's headless Chromium (package chromium-headless-shell), or the full one (chromium).
enum Chromium {
    static let path: String? = ["chromium-headless-shell", "chromium"].lazy.compactMap { try? TestSupport.which($0) }.first
}

/// `--copy-unlabeled` outputs played by a browser across the joins between copied and
/// re-encoded GOPs: Debian's headless Chromium, through Media Source Extensions (how hls.js,
/// Shaka and dash.js play fMP4 and HLS). The page (Tests/Browser/mse-player.html, served on
/// loopback by Tests/Browser/mse_run.py) appends the init segment and then each media segment,
/// in order, to one SourceBuffer, plays to the end at 2×, then seeks to chosen pictures and
/// copies their planes out (WebCodecs `VideoFrame`, no colour conversion).
/// Oracles: ffprobe's frame count of the output; ffmpeg's decoded pictures of the same output
/// (the browser's luma must be bit-identical: both are conforming H.264 decoders); the input's
/// pictures for where the label is. `make browser-test` installs Chromium and runs this suite.
@Suite(.serialized, .enabled(if: Chromium.path != nil,
                              "Chromium is not installed: `make browser-test` installs Debian's chromium-headless-shell and runs this suite"))
struct BrowserPlaybackTests {
    static let width = 480, height = 270
    static let browserDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Browser").path

    /// What the page saw (mse-player.html's result).
    struct Playback: Decodable {
        struct Quality: Decodable { let total: Int, dropped: Int, corrupted: Int }
        struct Picture: Decodable { let at: Double, mediaTime: Double, format: String?, width: Int, height: Int, luma: String }
        let errors: [String]
        let sourceBufferErrors: [String]
        let mime: String?
        let supported: Bool?
        let buffered: [[Double]]?
        let bufferedAtEnd: [[Double]]?
        let duration: Double?
        let currentTime: Double?
        let firstMediaTime: Double?
        let quality: Quality?
        let frames: [Picture]
        let types: [String: Bool]?
        let browser: String
        /// No error of any kind.
        var problems: [String] { errors + sourceBufferErrors.map { "SourceBuffer: " + $0 } }
    }

    /// Plays `src` (a path under `dir`) to the end, then shows the pictures at `at` seconds after the first.
    static func play(_ dir: String, _ src: String, at: [Double] = [], rate: Double = 2) throws -> Playback {
        let args = [browserDir + "/mse_run.py", dir, src, "--rate", String(rate), "--timeout", "50",
                    "--at", at.map { String(format: "%.3f", $0) }.joined(separator: ",")]
        return try run(args)
    }

    static func run(_ args: [String]) throws -> Playback {
        let r = try TestSupport.run("python3", args, timeout: 70)
        guard r.status == 0 else { throw TestFailure("mse_run.py failed (\(r.status)): \(r.stderr)") }
        return try JSONDecoder().decode(Playback.self, from: r.stdout)
    }

    /// The luma planes ffmpeg decodes, as stored (yuv420p, not range-converted), one per picture.
    static func lumaPlanes(_ path: String) throws -> [[UInt8]] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:v:0", "-vsync", "passthrough",
                                               "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"], timeout: 120)
        guard r.status == 0 else { throw TestFailure("ffmpeg could not decode \(path): \(r.stderr)") }
        let n = width * height, frame = n * 3 / 2, bytes = [UInt8](r.stdout)
        return stride(from: 0, to: bytes.count - frame + 1, by: frame).map { Array(bytes[$0..<($0 + n)]) }
    }

    /// Each picture's presentation time (ffprobe), in presentation order, from the first one.
    static func pictureTimes(_ path: String) throws -> [Double] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", path])
        let t = r.stdoutText.split(separator: "\n").compactMap { Double($0.split(separator: ",")[0].trimmingCharacters(in: .whitespaces)) }
        return t.map { $0 - (t.first ?? 0) }
    }

    /// Shows the pictures `looked` (indices in presentation order) in the browser: seeks half a
    /// picture past each one's time and checks the browser presents it at that time (within
    /// 1 ms of ffprobe's, from the first picture); returns the playback and the luma shown.
    static func show(_ dir: String, _ src: String, output: String, looked: [Int],
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> (Playback, [[UInt8]]) {
        let times = try pictureTimes(output)
        let p = try play(dir, src, at: looked.map { (times.indices.contains($0) ? times[$0] : 0) + 0.02 })
        #expect(p.frames.count == looked.count, "\(p.frames.count) pictures shown of \(looked.count)", sourceLocation: sourceLocation)
        for (i, f) in zip(looked, p.frames) where times.indices.contains(i) {
            #expect(f.format == "I420" && f.width == width && f.height == height, "picture \(i): \(f.format ?? "?") \(f.width)x\(f.height)", sourceLocation: sourceLocation)
            let at = f.mediaTime - (p.firstMediaTime ?? 0)
            #expect(abs(at - times[i]) < 0.001, "picture \(i) at \(at) s in the browser, \(times[i]) s by ffprobe", sourceLocation: sourceLocation)
        }
        return (p, p.frames.map { [UInt8](Data(base64Encoded: $0.luma) ?? Data()) })
    }

    /// Label ink: luma samples that differ from the input's by more than 86 (video range: the
    /// 100 of full-range gray the other label tests use).
    static func ink(_ a: [UInt8], _ b: [UInt8]) -> Int { zip(a, b).filter { abs(Int($0) - Int($1)) > 86 }.count }

    /// labelcast with `--copy-unlabeled` and a synthetic segment at 3.5-4.5 s (its GOPs at 2 and
    /// 4 s re-encoded: pictures 50-149): fragmented MP4 as labelcast writes it to a pipe
    /// (`-o - -f mp4`), or HLS with fMP4 segments. Returns the path to serve and what ffmpeg reads.
    static func makeOutput(_ dir: String, container: String, bframes: Int) throws -> (input: String, src: String, output: String) {
        let input = dir + "/in.mp4"
        try CopyUnlabeledTests.makeClip(input, video: ["-bf", String(bframes)])
        let common = ["--segments", "3.5-4.5", "--copy-unlabeled", "--frame-log", dir + "/frames.csv"]
        let r: TestSupport.ProcessResult
        let src: String
        if container == "mp4" {
            src = "out.mp4"
            r = try TestSupport.labelcast(["run", "-i", input, "-o", "-", "-f", "mp4"] + common, cwd: dir)
            try r.stdout.write(to: URL(fileURLWithPath: dir + "/" + src))
        } else {
            src = "hls/out.m3u8"
            try FileManager.default.createDirectory(atPath: dir + "/hls", withIntermediateDirectories: true)
            r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/" + src, "--muxer-opt", "hls_segment_type=fmp4"] + common, cwd: dir)
        }
        guard r.status == 0 else { throw TestFailure("labelcast failed: \(r.stderr)") }
        let rows = try String(contentsOfFile: dir + "/frames.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",") }.filter { $0[1] == "video" }
        let copied = rows.filter { $0.last == "1" }.count
        guard copied == 100 else { throw TestFailure("\(copied) pictures copied, expected 100: \(r.stderr)") }
        return (input, src, dir + "/" + src)
    }

    /// Pictures looked at: copied (10, 49 just before the first join, 150 just after the last,
    /// 190), re-encoded but not synthetic (50 = the re-encoded IDR at the first join, 75, 149 the
    /// last before the second join) and synthetic (100 = 4.0 s: the label).
    static let looked = [10, 49, 50, 75, 100, 149, 150, 190]

    /// Plays through both joins without an error, decodes at least every picture ffprobe counts,
    /// one buffered range to the end; the pictures shown at the looked-at times are ffmpeg's
    /// own decode of the same output bit for bit, and the label is on the synthetic one only.
    @Test(arguments: [("mp4", 0), ("mp4", 3), ("m3u8", 0), ("m3u8", 3)] as [(String, Int)])
    func playsAcrossTheJoins(container: String, bframes: Int) throws {
        let dir = try TestSupport.temporaryDirectory()
        let out = try Self.makeOutput(dir, container: container, bframes: bframes)
        let expected = try TestSupport.probe(out.output).first { $0.codecType == "video" }?.frames ?? 0
        #expect(expected == 200, "ffprobe counts \(expected) pictures")
        let decoded = try Self.lumaPlanes(out.output), original = try Self.lumaPlanes(out.input)
        #expect(decoded.count == 200 && original.count == 200)

        let (p, pictures) = try Self.show(dir, out.src, output: out.output, looked: Self.looked)
        check(p, expectedPictures: expected)
        for (i, shown) in zip(Self.looked, pictures) {
            guard shown.count == Self.width * Self.height, i < decoded.count else { continue }
            let differing = zip(shown, decoded[i]).filter { $0 != $1 }.count
            #expect(differing == 0, "picture \(i): \(differing) luma samples differ from ffmpeg's decode")
            let ink = Self.ink(shown, original[i])
            if i == 100 {
                #expect(ink > 300, "no label on picture \(i) in the browser: \(ink) samples changed")
            } else {
                #expect(ink == 0, "picture \(i) carries ink in the browser: \(ink) samples")
            }
        }
    }

    /// The playback assertions: no MediaError or SourceBuffer error, to the end, every picture
    /// decoded, none corrupted, one buffered range from the start to the end.
    func check(_ p: Playback, expectedPictures: Int, duration minimum: Double = 7.9, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(p.supported == true, "\(p.browser) does not take \(p.mime ?? "?")", sourceLocation: sourceLocation)
        #expect(p.problems.isEmpty, "\(p.problems.prefix(3))", sourceLocation: sourceLocation)
        let q = p.quality
        #expect((q?.total ?? 0) >= expectedPictures && q?.corrupted == 0,
                "\(q?.total ?? 0) pictures decoded (\(q?.dropped ?? 0) dropped, \(q?.corrupted ?? 0) corrupted), ffprobe counts \(expectedPictures)",
                sourceLocation: sourceLocation)
        let ranges = p.bufferedAtEnd ?? []
        let duration = p.duration ?? 0
        #expect(ranges.count == 1 && (ranges.first?[0] ?? 1) <= (p.firstMediaTime ?? 0) && (ranges.first?[1] ?? 0) >= duration - 0.05,
                "buffered \(ranges), duration \(duration)", sourceLocation: sourceLocation)
        #expect(duration > minimum && (p.currentTime ?? 0) >= duration - 0.001, "played to \(p.currentTime ?? 0) s of \(duration)", sourceLocation: sourceLocation)
    }

    /// A live input switched through the control API (LiveCopyTests' set-up): the encoder
    /// starts with an IDR at the answered instant, in the middle of the publisher's GOP, and
    /// re-encodes to the publisher's next IDR after the switch off. Written as fragmented MP4
    /// (a fragment per keyframe), it plays through both joins in the browser; the pictures on
    /// either side of each join are ffmpeg's decode bit for bit, the label on the switched ones.
    @Test func liveSwitchMidGOPPlaysAcrossTheJoins() throws {
        let dir = try TestSupport.temporaryDirectory()
        let port = LiveServers.freePort(), control = LiveServers.freePort()
        let token = "browser-live-token"
        let output = dir + "/live.mp4", reference = dir + "/ref.ts"
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-q", "-i", "udp://127.0.0.1:\(port)", "-o", output, "--copy-unlabeled",
            "--muxer-opt", "movflags=+frag_keyframe+empty_moov+default_base_moof",
            "--listen", "127.0.0.1:\(control)", "--control-token", token,
        ], log: dir + "/labelcast.log")
        defer { lc.stop(SIGKILL) }
        let sw = try LiveServers.publishAndSwitch(port: port, control: control, token: token, reference: reference, seconds: 9,
                                                  onAt: 3.3, hold: 1.5, labelcast: lc, dir: dir)
        let tOn = sw.on, tOff = sw.off
        #expect(lc.stop(SIGINT) == 130, "\(lc.log)")

        // Which output pictures are copied (the publisher's own), found as LiveCopyTests does.
        let ref = try LiveCopyTests.pictures(reference), out = try LiveCopyTests.pictures(output)
        try #require(ref.count >= 200 && out.count >= 150, "\(ref.count) reference pictures, \(out.count) out")
        let first = try #require(ref.firstIndex { $0.md5 == out[0].md5 }, "the output's first picture is not the publisher's")
        let copied = out.indices.map { first + $0 < ref.count && out[$0].md5 == ref[first + $0].md5 }
        let onIndex = try #require(copied.firstIndex(of: false), "nothing re-encoded (switch at \(tOn)-\(tOff))")
        let backIndex = try #require(copied[onIndex...].firstIndex(of: true), "never copied again after \(tOff)")
        #expect(copied[backIndex...].allSatisfy { $0 } && !copied[onIndex..<backIndex].contains(true))
        #expect(first + onIndex < ref.count && !ref[first + onIndex].key, "the switch landed on one of the publisher's keyframes (picture \(onIndex)): not mid-GOP")

        let expected = try TestSupport.probe(output).first { $0.codecType == "video" }?.frames ?? 0
        #expect(expected == out.count, "ffprobe counts \(expected), framemd5 \(out.count)")
        let decoded = try Self.lumaPlanes(output), original = try Self.lumaPlanes(reference)
        let looked = [onIndex - 1, onIndex, onIndex + 5, backIndex - 1, backIndex, out.count - 5]
        let (p, pictures) = try Self.show(dir, "live.mp4", output: output, looked: looked)
        check(p, expectedPictures: expected, duration: Double(out.count) * 0.04 - 0.2)
        for (i, shown) in zip(looked, pictures) {
            guard shown.count == Self.width * Self.height, i < decoded.count, first + i < original.count else { continue }
            let differing = zip(shown, decoded[i]).filter { $0 != $1 }.count
            #expect(differing == 0, "picture \(i): \(differing) luma samples differ from ffmpeg's decode")
            let ink = Self.ink(shown, original[first + i])
            if i == onIndex || i == onIndex + 5 {
                #expect(ink > 300, "no label on picture \(i) in the browser: \(ink) samples changed")
            } else if i == onIndex - 1 || i >= backIndex {
                #expect(ink == 0, "picture \(i) carries ink in the browser: \(ink) samples")
            }
        }
    }

    /// The checks fail on broken joins: the fMP4 output without the re-encoded stretch's
    /// SPS/PPS (stripped in-band by ffmpeg's filter_units, dropped from the avcC here), and the
    /// same output with the fragment of the first re-encoded GOP cut out.
    @Test func brokenJoinsAreCaught() throws {
        let dir = try TestSupport.temporaryDirectory()
        let out = try Self.makeOutput(dir, container: "mp4", bframes: 0)

        // 1. Parameter sets: the re-encoded slices refer to a PPS nobody defines.
        let stripped = dir + "/stripped.mp4"
        let f = try TestSupport.run("ffmpeg", ["-v", "error", "-i", out.output, "-map", "0", "-c", "copy", "-bsf:v", "filter_units=remove_types=7|8",
                                               "-movflags", "+frag_keyframe+empty_moov+default_base_moof", stripped])
        #expect(f.status == 0, "\(f.stderr)")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: stripped)))
        let sets = try Self.keepFirstParameterSets(&bytes)
        #expect(sets == (2, 2), "the avcC held \(sets) SPS/PPS (the input's and the re-encoded stretch's expected)")
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/noparams.mp4"))
        let a = try Self.play(dir, "noparams.mp4", at: [0.03, 2.03])
        #expect(a.errors.contains { $0.contains("MediaError") }, "no decode error without parameter sets: \(a.errors)")
        #expect((a.quality?.total ?? 0) < 200, "\(a.quality?.total ?? 0) pictures decoded")

        // 2. A GOP lost at the join: a gap in the buffered ranges, playback stops there.
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out.output)))
        let moofs = Self.topLevelBoxes(whole).filter { $0.type == "moof" }
        #expect(moofs.count == 4, "\(moofs.count) fragments")
        guard moofs.count >= 3 else { return }
        try Data(whole[..<moofs[1].start] + whole[moofs[2].start...]).write(to: URL(fileURLWithPath: dir + "/gap.mp4"))
        let b = try Self.play(dir, "gap.mp4")
        #expect((b.bufferedAtEnd ?? []).count == 2, "buffered \(b.bufferedAtEnd ?? [])")
        #expect(b.errors.contains { $0.contains("stalled") }, "\(b.errors)")
        #expect((b.currentTime ?? 9) < 2.1, "played to \(b.currentTime ?? 0) s")
    }

    /// Whether this Chromium plays H.264 and HEVC through MSE. Debian's chromium 156 answers
    /// false for every HEVC type (no HEVC decoder in its FFmpeg build): HEVC outputs cannot be
    /// checked in it, and the test says so; if a later Chromium takes HEVC, the test fails so the
    /// HEVC case gets added.
    @Test func codecsThisChromiumTakes() throws {
        let h264 = ["video/mp4; codecs=\"avc1.640015\"", "video/mp4; codecs=\"avc3.640015\"", "video/mp4; codecs=\"avc1.42E01E, mp4a.40.2\""]
        let hevc = ["video/mp4; codecs=\"hev1.1.6.L93.B0\"", "video/mp4; codecs=\"hvc1.1.6.L93.B0\""]
        let p = try Self.run([Self.browserDir + "/mse_run.py", NSTemporaryDirectory()] + (h264 + hevc).flatMap { ["--types", $0] })
        for t in h264 { #expect(p.types?[t] == true, "\(p.browser): \(t) not supported") }
        let hevcTaken = hevc.filter { p.types?[$0] == true }
        #expect(hevcTaken.isEmpty, "\(p.browser) takes \(hevcTaken): add HEVC outputs to playsAcrossTheJoins")
    }

    // MARK: breaking a file on purpose

    static func topLevelBoxes(_ b: [UInt8]) -> [(type: String, start: Int, end: Int)] {
        var out: [(String, Int, Int)] = [], i = 0
        while i + 8 <= b.count {
            let size = b[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) }
            guard size >= 8 else { break }
            out.append((String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self), i, i + size))
            i += size
        }
        return out
    }

    /// Rewrites the (first) avcC to keep only its first SPS and first PPS, shrinking the boxes
    /// around it (moov … avc1; an empty-moov fragmented file has no offsets into them).
    /// Returns how many SPS and PPS it held.
    static func keepFirstParameterSets(_ d: inout [UInt8]) throws -> (Int, Int) {
        func u32(_ i: Int) -> Int { d[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        func put32(_ i: Int, _ v: Int) { for k in 0..<4 { d[i + k] = UInt8((v >> (24 - 8 * k)) & 0xFF) } }
        func containsAvcC(_ a: Int, _ b: Int) -> Bool {
            var k = a
            while k + 4 <= b { if d[k] == 0x61, d[k + 1] == 0x76, d[k + 2] == 0x63, d[k + 3] == 0x43 { return true }; k += 1 }
            return false
        }
        // The path of boxes down to avcC: children start after the header (stsd: + version,
        // flags, entry count; a visual sample entry: + its 78 bytes).
        var path: [Int] = [], lo = 0, hi = d.count, found = -1
        search: while lo + 8 <= hi {
            var i = lo
            while i + 8 <= hi {
                let size = u32(i), type = String(decoding: d[(i + 4)..<(i + 8)], as: UTF8.self)
                guard size >= 8 else { break search }
                let child: Int? = ["moov": 8, "trak": 8, "mdia": 8, "minf": 8, "stbl": 8, "stsd": 16, "avc1": 86, "avc3": 86][type]
                if type == "avcC" { found = i; break search }
                if let child, containsAvcC(i, i + size) {
                    path.append(i); lo = i + child; hi = i + size; continue search
                }
                i += size
            }
            break
        }
        guard found >= 0 else { throw TestFailure("no avcC") }
        let size = u32(found), c = Array(d[(found + 8)..<(found + size)])
        var p = 6, sps: [[UInt8]] = [], pps: [[UInt8]] = []
        for _ in 0..<Int(c[5] & 31) { let l = Int(c[p]) << 8 | Int(c[p + 1]); sps.append(Array(c[p..<(p + 2 + l)])); p += 2 + l }
        let ppsCount = Int(c[p]); p += 1
        for _ in 0..<ppsCount { let l = Int(c[p]) << 8 | Int(c[p + 1]); pps.append(Array(c[p..<(p + 2 + l)])); p += 2 + l }
        let body = Array(c[0..<5]) + [0xE1] + sps[0] + [1] + pps[0] + Array(c[p...])
        let delta = c.count - body.count
        for a in path { put32(a, u32(a) - delta) }
        d.replaceSubrange(found..<(found + size), with: [0, 0, 0, 0] + Array("avcC".utf8) + body)
        put32(found, 8 + body.count)
        return (sps.count, pps.count)
    }
}
