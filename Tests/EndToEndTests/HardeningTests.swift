import Foundation
import Labelcast
import Testing
import TestSupport

/// The "Hardening" matrix: options of the wrong type or range, damaged and unusual inputs, and
/// faults while running (corrupt packets, an output that refuses writes, SIGKILL, SIGTERM).
/// Whatever goes wrong: one line on stderr, a status of 2 or more, nothing left that looks
/// complete; whatever works: every frame accounted for.
@Suite(.serialized) struct HardeningTests {
    // MARK: helpers

    /// Per-lane counts from a `--metrics-json` report.
    struct LaneCounts {
        let framesIn: Int, framesOut: Int, dropped: Int, labeled: Int, decodeErrors: Int
        var balanced: Bool { framesIn == framesOut + dropped }
    }

    static func metrics(_ path: String) throws -> (interrupted: Bool?, lanes: [String: LaneCounts]) {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        guard let report = object as? [String: Any], let lanes = report["lanes"] as? [[String: Any]] else {
            throw TestFailure("\(path) is not a metrics report")
        }
        var out: [String: LaneCounts] = [:]
        for lane in lanes {
            guard let name = lane["lane"] as? String, let c = lane["counts"] as? [String: Any] else { throw TestFailure("bad lane \(lane)") }
            let dropped = (c["dropped"] as? [String: Int] ?? [:]).values.reduce(0, +)
            out[name] = LaneCounts(framesIn: c["frames_in"] as? Int ?? -1, framesOut: c["frames_out"] as? Int ?? -1, dropped: dropped,
                                   labeled: c["frames_labeled"] as? Int ?? -1, decodeErrors: c["decode_errors"] as? Int ?? -1)
        }
        return (report["interrupted"] as? Bool, out)
    }

    /// Presentation times of the decoded video frames, in order (ffprobe).
    static func videoFrameTimes(_ path: String) throws -> [Double] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "json", path])
        guard r.status == 0 else { throw TestFailure("ffprobe \(path): \(r.stderr)") }
        let frames = (try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["frames"] as? [[String: Any]] ?? []
        return frames.compactMap { ($0["pts_time"] as? String).flatMap(Double.init) }
    }

    static func ffmpeg(_ args: [String]) throws {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-y"] + args)
        guard r.status == 0 else { throw TestFailure("ffmpeg \(args.joined(separator: " ")): \(r.stderr)") }
    }

    /// A running labelcast, for the tests that signal it or give it an odd stdout.
    final class Running: @unchecked Sendable {
        let process = Process()
        private let err = Pipe()
        private var errData = Data()
        private let done = DispatchGroup()

        init(_ arguments: [String], stdout: FileHandle = FileHandle.nullDevice) throws {
            process.executableURL = URL(fileURLWithPath: TestSupport.labelcastBinary)
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = stdout
            process.standardError = err
            try process.run()
            done.enter()
            DispatchQueue.global().async { [self] in
                errData = err.fileHandleForReading.readDataToEndOfFile()
                done.leave()
            }
        }

        /// Waits for the exit; kills the process and throws when it takes longer than `timeout`.
        @discardableResult
        func wait(timeout: Double) throws -> (reason: Process.TerminationReason, status: Int32, stderr: String) {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw TestFailure("labelcast did not exit within \(timeout) s (killed)")
            }
            process.waitUntilExit()
            _ = done.wait(timeout: .now() + 5)
            return (process.terminationReason, process.terminationStatus, String(decoding: errData, as: UTF8.self))
        }
    }

    /// Waits until `path` exists (the run has started: the frame log is opened at its start).
    static func waitForFile(_ path: String, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !FileManager.default.fileExists(atPath: path) {
            guard Date() < deadline else { throw TestFailure("\(path) did not appear within \(timeout) s") }
            usleep(10_000)
        }
    }

    static func fileType(_ path: String) -> mode_t? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return st.st_mode & S_IFMT
    }

    // MARK: options of the wrong type or range

    /// A bad option: the arguments, what the one error line must mention, and the files it
    /// needs beside the input (name → bytes).
    struct BadOption: CustomTestStringConvertible, Sendable {
        let name: String
        let args: [String]
        let mentions: [String]
        var files: [String: Data] = [:]
        var testDescription: String { name }
    }

    static let overlappingSchedule = Data(#"{"segments":[{"start":1,"end":5},{"start":4,"end":8}]}"#.utf8)
    static let badOptions: [BadOption] = [
        BadOption(name: "label height below 5%", args: ["--label-height", "0.01"], mentions: ["--label-height 0.01", "0.05"]),
        BadOption(name: "label height not a number", args: ["--label-height", "abc"], mentions: ["'abc'", "--label-height"]),
        BadOption(name: "label height negative", args: ["--label-height", "-0.1"], mentions: ["--label-height -0.1", "minimum"]),
        BadOption(name: "label position", args: ["--label-position", "middle"], mentions: ["--label-position 'middle'", "top-right"]),
        BadOption(name: "gop zero", args: ["--gop", "0"], mentions: ["--gop 0", "out of range"]),
        BadOption(name: "gop negative", args: ["--gop", "-1"], mentions: ["--gop -1", "out of range"]),
        BadOption(name: "read timeout negative", args: ["--read-timeout", "-1"], mentions: ["--read-timeout", "positive"]),
        BadOption(name: "read timeout negative, = form", args: ["--read-timeout=-1"], mentions: ["--read-timeout", "positive"]),
        BadOption(name: "audio bitrate", args: ["--audio-bitrate", "x"], mentions: ["--audio-bitrate 'x'", "bit rate"]),
        BadOption(name: "crf negative", args: ["--crf", "-1"], mentions: ["--crf -1", "out of range"]),
        BadOption(name: "payload id over 32 bits", args: ["--payload-id", "0x1FFFFFFFF"], mentions: ["--payload-id '0x1FFFFFFFF'", "32-bit"]),
        BadOption(name: "payload id negative", args: ["--payload-id", "-1"], mentions: ["--payload-id '-1'", "32-bit"]),
        BadOption(name: "payload id not a number", args: ["--payload-id", "0xZZ"], mentions: ["--payload-id '0xZZ'"]),
        BadOption(name: "cue level above 0 dBFS", args: ["--audible-cue", "morse", "--cue-level", "5"], mentions: ["--cue-level 5", "-40"]),
        BadOption(name: "cue level out of range, cue off", args: ["--cue-level", "5"], mentions: ["--cue-level 5", "-40"]),
        BadOption(name: "cue level below -40 dBFS", args: ["--audible-cue", "morse", "--cue-level", "-60"], mentions: ["--cue-level -60"]),
        BadOption(name: "cue frequency", args: ["--audible-cue", "morse", "--cue-frequency", "20000"], mentions: ["--cue-frequency 20000"]),
        BadOption(name: "listen port too big", args: ["--listen", "127.0.0.1:99999"], mentions: ["--listen '127.0.0.1:99999'", "port"]),
        BadOption(name: "listen without port", args: ["--listen", "nohost:"], mentions: ["--listen 'nohost:'", "port"]),
        BadOption(name: "listen bad IPv6", args: ["--listen", "[::1"], mentions: ["--listen '[::1'", "[IPv6]:PORT"]),
        BadOption(name: "listen host that does not resolve", args: ["--listen", "nosuchhost.invalid:9090", "--control-token", "abcdefgh-1"],
                  mentions: ["--listen nosuchhost.invalid:9090", "cannot listen", "check the host"]),
        BadOption(name: "control token too short", args: ["--control-token", "abc1234"], mentions: ["--control-token", "at least 8"]),
        BadOption(name: "control token file too short", args: ["--control-token-file", "t"], mentions: ["--control-token-file 't'", "at least 8"],
                  files: ["t": Data("abc1234\n".utf8)]),
        BadOption(name: "control token file missing", args: ["--control-token-file", "nope"], mentions: ["--control-token-file 'nope'", "does not exist"]),
        BadOption(name: "token and token file", args: ["--control-token", "abcdefgh1", "--control-token-file", "t"], mentions: ["both given"],
                  files: ["t": Data("abcdefgh1\n".utf8)]),
        BadOption(name: "listen on every interface without a token", args: ["--listen", "0.0.0.0:9090"],
                  mentions: ["--listen 0.0.0.0:9090", "no control token", "--insecure-no-token"]),
        BadOption(name: "copy and transcode", args: ["--copy-unlabeled", "--transcode"], mentions: ["--copy-unlabeled and --transcode both given"]),
        BadOption(name: "allowed host with a path", args: ["--allowed-host", "a/b"], mentions: ["--allowed-host 'a/b'"]),
        BadOption(name: "output and output file", args: ["--output-file", "o"], mentions: ["--output and --output-file both given"], files: ["o": Data("x.mp4\n".utf8)]),
        BadOption(name: "producer with a space", args: ["--aigc-producer", "news room"], mentions: ["--aigc-producer", "U+0020"]),
        BadOption(name: "producer with a quote", args: ["--aigc-producer", "a\"b"], mentions: ["--aigc-producer", "U+0022"]),
        BadOption(name: "producer not ASCII", args: ["--aigc-producer", "新闻"], mentions: ["--aigc-producer", "U+65B0"]),
        BadOption(name: "produce id with a newline", args: ["--aigc-produce-id", "ep\n42"], mentions: ["--aigc-produce-id", "U+000A"]),
        BadOption(name: "key file missing", args: ["--key-file", "nokey.bin"], mentions: ["--key-file 'nokey.bin'", "does not exist"]),
        BadOption(name: "key file empty", args: ["--key-file", "empty.key"], mentions: ["--key-file 'empty.key'", "empty"],
                  files: ["empty.key": Data()]),
        BadOption(name: "key file just a newline", args: ["--key-file", "nl.key"], mentions: ["--key-file 'nl.key'", "empty"],
                  files: ["nl.key": Data("\n".utf8)]),
        BadOption(name: "key file a folder", args: ["--key-file", "/tmp"], mentions: ["--key-file '/tmp'", "is a folder"]),
        BadOption(name: "key file endless", args: ["--key-file", "/dev/urandom"], mentions: ["--key-file '/dev/urandom'", "more than 64 KiB"]),
        BadOption(name: "key file too short", args: ["--key-file", "short.key"], mentions: ["--key-file 'short.key'", "5 bytes", "at least"],
                  files: ["short.key": Data("abcde".utf8)]),
        BadOption(name: "segments file malformed", args: ["--segments-file", "s.json"], mentions: ["segments file 's.json'", "not valid schedule JSON"],
                  files: ["s.json": Data(#"{"segments":[{"start":1,"#.utf8)]),
        BadOption(name: "segments file wrong type", args: ["--segments-file", "s.json"], mentions: ["segments file 's.json'", "segments[0].start"],
                  files: ["s.json": Data(#"{"segments":[{"start":"5"}]}"#.utf8)]),
        BadOption(name: "segments file not an object", args: ["--segments-file", "s.json"], mentions: ["segments file 's.json'", "not valid schedule JSON"],
                  files: ["s.json": Data("[1,2]".utf8)]),
        BadOption(name: "segments file without segments", args: ["--segments-file", "s.json"], mentions: ["segments file 's.json'", "\"segments\""],
                  files: ["s.json": Data(#"{"ranges":[]}"#.utf8)]),
        BadOption(name: "segments file without start", args: ["--segments-file", "s.json"], mentions: ["segment 1", "\"start\""],
                  files: ["s.json": Data(#"{"segments":[{"end":3}]}"#.utf8)]),
        BadOption(name: "segments file overlapping", args: ["--segments-file", "s.json"], mentions: ["segments file 's.json'", "segment 2 (4-8)", "overlaps segment 1"],
                  files: ["s.json": overlappingSchedule]),
        BadOption(name: "segments file unsorted", args: ["--segments-file", "s.json"], mentions: ["segment 2 (1-2)", "time order"],
                  files: ["s.json": Data(#"{"segments":[{"start":5,"end":6},{"start":1,"end":2}]}"#.utf8)]),
        BadOption(name: "segments file negative start", args: ["--segments-file", "s.json"], mentions: ["segment 1", "negative start"],
                  files: ["s.json": Data(#"{"segments":[{"start":-2,"end":2}]}"#.utf8)]),
        BadOption(name: "segments file after an open segment", args: ["--segments-file", "s.json"], mentions: ["segment 2", "end of the stream"],
                  files: ["s.json": Data(#"{"segments":[{"start":1},{"start":4,"end":5}]}"#.utf8)]),
    ]

    @Test(.timeLimit(.minutes(1)), arguments: badOptions)
    func badOptionIsOneLine(_ c: BadOption) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 0.5)
        for (name, bytes) in c.files { try bytes.write(to: URL(fileURLWithPath: dir + "/" + name)) }
        let r = try TestSupport.labelcast(["run", "-i", "in.mp4", "-o", "out.mp4"] + c.args, cwd: dir, timeout: 60)
        #expect(r.status >= 2, "status \(r.status): \(r.stderr)")
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("labelcast: error: "), "\(r.stderr)")
        for m in c.mentions { #expect(r.stderr.contains(m), "should mention \(m): \(r.stderr)") }
        #expect(TestSupport.files(in: dir) == (["in.mp4"] + c.files.keys).sorted(), "left \(TestSupport.files(in: dir))")
    }

    /// Negative numbers are values, not options: the README's own `--cue-level -12` must work
    /// (it used to fail with "Missing value for '--cue-level'").
    @Test(.timeLimit(.minutes(1)))
    func negativeNumbersAreValues() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 1, video: nil)
        for level in [["--cue-level", "-12"], ["--cue-level=-20"]] {
            let r = try TestSupport.labelcast(["run", "-i", "in.mp4", "-o", "out.m4a", "--segments", "0-", "--audible-cue", "morse", "-q"] + level,
                                              cwd: dir, timeout: 60)
            #expect(r.status == 0, "\(level): \(r.stderr)")
            #expect(r.stderr.isEmpty, "\(r.stderr)")
            #expect(try TestSupport.probe(dir + "/out.m4a").map(\.codecType).filter { $0 != "data" } == ["audio"])  // data: the chapters
        }
    }

    /// A key file nobody may read. Root reads any file, so as root the run drops to `nobody`
    /// with setpriv (or the case is skipped when setpriv is missing).
    @Test(.timeLimit(.minutes(1)), .enabled(if: getuid() != 0 || (try? TestSupport.which("setpriv")) != nil, "root reads any file, and setpriv is missing"))
    func unreadableKeyFile() throws {
        let asRoot = getuid() == 0
        let setpriv = try? TestSupport.which("setpriv")
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 0.5)
        try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: dir + "/k.key"))
        chmod(dir + "/k.key", 0)
        chmod(dir, 0o755)
        let args = ["run", "-i", "in.mp4", "-o", "out.mp4", "--key-file", "k.key"]
        let r = asRoot
            ? try TestSupport.run(setpriv!, ["--reuid=65534", "--regid=65534", "--clear-groups", TestSupport.labelcastBinary] + args, cwd: dir, timeout: 60)
            : try TestSupport.labelcast(args, cwd: dir, timeout: 60)
        #expect(r.status >= 2, "\(r.stderr)")
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("--key-file 'k.key' cannot be read"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4", "k.key"])
    }

    /// 100 000 valid segments: accepted and applied quickly (the Timeline looked each frame up
    /// by scanning every range: 15 s for half a second of media before it searched instead).
    /// The frame log's `synthetic` column must agree with the schedule on every frame.
    @Test(.timeLimit(.minutes(1)))
    func hugeScheduleWorksQuickly() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 1)
        // 0.5 ms on, 0.5 ms off from 0.2501 s: 100 000 segments up to about 100 s.
        let ranges = (0..<100_000).map { i -> (Double, Double) in let s = 0.2501 + Double(i) * 0.001; return (s, s + 0.0005) }
        let json = "{\"segments\":[" + ranges.map { "{\"start\":\($0.0),\"end\":\($0.1)}" }.joined(separator: ",") + "]}"
        try Data(json.utf8).write(to: URL(fileURLWithPath: dir + "/s.json"))
        let started = Date()
        let r = try TestSupport.labelcast(["run", "-i", "in.mp4", "-o", "out.mp4", "--segments-file", "s.json", "--frame-log", "frames.csv", "-q"],
                                          cwd: dir, timeout: 60)
        let seconds = Date().timeIntervalSince(started)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(seconds < 10, "took \(seconds) s")
        let rows = try String(contentsOfFile: dir + "/frames.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(rows.count > 60)
        var checked = 0
        for row in rows {
            let f = row.split(separator: ",")
            let t = try #require(Double(f[2]))
            // The log rounds media time to 1 µs: leave out frames that close to a boundary.
            let k = ((t - 0.2501) / 0.001).rounded(.down)
            let offset = t - (0.2501 + k * 0.001)
            if abs(offset) < 3e-6 || abs(offset - 0.0005) < 3e-6 || abs(offset - 0.001) < 3e-6 { continue }
            // Video: the frame's instant. Audio rows are encoded chunks (1024 samples): synthetic
            // when any of their samples is — every chunk reaching past 0.2501 s here.
            let expected = f[1] == "audio" ? t + 1024.0 / 48000 > 0.2501 : t >= 0.2501 && offset < 0.0005
            if f[1] == "audio", abs(t + 1024.0 / 48000 - 0.2501) < 3e-6 { continue }
            #expect(f[3] == (expected ? "1" : "0"), "\(f[1]) frame at \(t): synthetic \(f[3]), schedule says \(expected)")
            checked += 1
        }
        #expect(checked > 50)
    }

    /// The Timeline's searches (used for ordered schedules) answer exactly as a scan of every
    /// range would, at and around every boundary, also after live switches; an unordered list
    /// from a library caller is still answered by scanning.
    @Test func timelineLookupsMatchAFullScan() {
        var seed: UInt64 = 0x9E3779B97F4A7C15
        func random(_ range: ClosedRange<Double>) -> Double {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return range.lowerBound + Double(seed >> 11) / Double(1 << 53) * (range.upperBound - range.lowerBound)
        }
        func check(_ timeline: SyntheticTimeline, _ ranges: [SyntheticRange], _ what: String) {
            let bounds = ranges.flatMap { [$0.start, $0.end].compactMap { $0 } }
            let times = bounds.flatMap { [$0, $0.nextDown, $0.nextUp] } + (0..<20).map { _ in random(-1...60) }
            for t in times {
                // Media time before 0 is answered as 0 (the stream's first instant).
                let synthetic = ranges.contains { $0.contains(max(t, 0)) }
                let next = bounds.filter { $0 - SyntheticRange.tolerance > t }.min()
                if timeline.isSynthetic(at: t) != synthetic || timeline.nextBoundary(after: t) != next
                    || timeline.range(at: t)?.start != ranges.first(where: { $0.contains(max(t, 0)) })?.start {
                    Issue.record("\(what) \(ranges) at \(t): synthetic \(timeline.isSynthetic(at: t)) (want \(synthetic)), next \(String(describing: timeline.nextBoundary(after: t))) (want \(String(describing: next)))")
                    return
                }
            }
        }
        for trial in 0..<200 {
            var ranges: [SyntheticRange] = []
            var t = random(0...1) < 0.3 ? 0 : random(0...2)
            for _ in 0..<Int(random(0...12)) {
                let start = t + (random(0...1) < 0.3 ? 0 : random(0...3))  // sometimes adjacent
                t = start + random(0.01...3)
                ranges.append(SyntheticRange(start: start, end: t))
            }
            if random(0...1) < 0.3 { ranges.append(SyntheticRange(start: t + random(0...2))) }
            let timeline = SyntheticTimeline(ranges: ranges)
            check(timeline, ranges, "schedule \(trial)")
            for _ in 0..<4 {
                timeline.switchState(on: random(0...1) < 0.5, at: random(0...40), source: "test")
                check(timeline, timeline.ranges, "after a switch, schedule \(trial)")
            }
        }
        // A library caller's list, out of order and overlapping: answered as their union.
        let messy = [SyntheticRange(start: 10, end: 12), SyntheticRange(start: 1, end: 5), SyntheticRange(start: 4, end: 8)]
        check(SyntheticTimeline(ranges: messy), [SyntheticRange(start: 1, end: 8), SyntheticRange(start: 10, end: 12)], "unordered")
    }

    // MARK: damaged and unusual inputs

    @Test(.timeLimit(.minutes(1)))
    func truncatedMP4IsAClearError() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/full.mp4", seconds: 2)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/full.mp4"))
        // ffmpeg writes the index (moov) last: the first half has media data but no index.
        #expect(bytes.range(of: Data("moov".utf8))!.lowerBound > bytes.count / 2)
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: dir + "/in.mp4"))
        try FileManager.default.removeItem(atPath: dir + "/full.mp4")
        let started = Date()
        let r = try TestSupport.labelcast(["run", "-i", "in.mp4", "-o", "out.mp4"], cwd: dir, timeout: 60)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("labelcast: error: input 'in.mp4' is not a media file"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4"])
    }

    /// MPEG-TS needs no index: the first half plays, so it is labeled up to where it stops.
    @Test(.timeLimit(.minutes(1)))
    func truncatedTSIsProcessedUpToItsEnd() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/full.ts", seconds: 2)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/full.ts"))
        try bytes.prefix(bytes.count / 2 + 100).write(to: URL(fileURLWithPath: dir + "/in.ts"))  // cut mid-packet
        let inputFrames = try #require(try TestSupport.probe(dir + "/in.ts").first { $0.codecType == "video" }?.frames)
        let r = try TestSupport.labelcast(["run", "-i", "in.ts", "-o", "out.mp4", "--synthetic", "all", "--metrics-json", "m.json", "-q"],
                                          cwd: dir, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let m = try Self.metrics(dir + "/m.json")
        let v = try #require(m.lanes["video"]), a = try #require(m.lanes["audio"])
        #expect(v.balanced && a.balanced, "\(m.lanes)")
        #expect(abs(v.framesIn - inputFrames) <= 1, "labelcast decoded \(v.framesIn), ffprobe \(inputFrames)")
        #expect(v.framesIn > 20 && v.framesIn < 50)
        #expect(v.labeled == v.framesOut)
        let out = try #require(try TestSupport.probe(dir + "/out.mp4").first { $0.codecType == "video" })
        #expect(out.frames == v.framesOut)
    }

    @Test(.timeLimit(.minutes(1)))
    func mpegTSNamedMP4Works() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.ts", seconds: 1)
        try FileManager.default.moveItem(atPath: dir + "/in.ts", toPath: dir + "/in.mp4")
        let r = try TestSupport.labelcast(["run", "-i", "in.mp4", "-o", "out.mp4", "--synthetic", "all", "-q"], cwd: dir, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let streams = try TestSupport.probe(dir + "/out.mp4")
        #expect(streams.map(\.codecType).sorted() == ["audio", "video"])
        #expect(streams.first { $0.codecType == "video" }?.frames == 30)
    }

    @Test(.timeLimit(.minutes(1)), arguments: ["audio", "video"])
    func singleStreamInputWorks(_ kind: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        let input = dir + (kind == "audio" ? "/in.m4a" : "/in.mp4")
        if kind == "audio" { try TestSupport.makeMedia(input, seconds: 1, video: nil) } else { try TestSupport.makeMedia(input, seconds: 1, audio: nil) }
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mp4", "--segments", "0.2-0.6", "--metrics-json", dir + "/m.json", "-q"],
                                          timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try TestSupport.probe(dir + "/out.mp4").map(\.codecType).filter { $0 != "data" } == [kind])  // data: the chapters
        let m = try Self.metrics(dir + "/m.json")
        #expect(Array(m.lanes.keys) == [kind])
        let lane = try #require(m.lanes[kind])
        #expect(lane.balanced && lane.dropped == 0)
        #expect(lane.labeled > 0 && lane.labeled < lane.framesOut, "\(lane)")
    }

    /// A TS that declares an audio stream but carries none of it (the probe cannot tell its
    /// format): the stream is left out with a warning and the video is labeled. It used to fail
    /// with "cannot start the encoder: Invalid argument".
    @Test(.timeLimit(.minutes(1)))
    func declaredButEmptyAudioStreamIsLeftOut() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/full.ts", seconds: 1)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/full.ts")))
        // Drop every 188-byte packet of the audio PID (ffmpeg's default: 0x101).
        var kept: [UInt8] = []
        for start in stride(from: 0, to: bytes.count - 187, by: 188) {
            let pid = (Int(bytes[start + 1]) & 0x1F) << 8 | Int(bytes[start + 2])
            if pid != 0x101 { kept += bytes[start..<(start + 188)] }
        }
        try Data(kept).write(to: URL(fileURLWithPath: dir + "/in.ts"))
        let probed = try TestSupport.probe(dir + "/in.ts")
        #expect(probed.first { $0.codecType == "audio" }?.sampleRate == 0, "the input should declare an audio stream it never fills")
        let r = try TestSupport.labelcast(["run", "-i", "in.ts", "-o", "out.mp4", "--synthetic", "all"], cwd: dir, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("audio stream #1 (") && r.stderr.contains("has no sample rate or channels (empty or damaged): left out"), "\(r.stderr)")
        let out = try TestSupport.probe(dir + "/out.mp4")
        #expect(out.map(\.codecType) == ["video"])
        #expect(out.first?.frames == 30)
    }

    /// 161x121 4:2:0: x264 cannot code an odd side with subsampled chroma (it failed with
    /// "Generic error in an external library"); the output keeps the size, in 4:4:4, labeled.
    @Test(.timeLimit(.minutes(1)))
    func oddSizeKeepsItsSizeAndIsLabeled() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try Self.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "1", "-vf", "scale=161:121",
                         "-pix_fmt", "yuv420p", "-c:v", "ffv1", dir + "/in.mkv"])
        let r = try TestSupport.labelcast(["run", "-i", "in.mkv", "-o", "out.mp4", "--segments", "0.5-", "--metrics-json", "m.json"], cwd: dir, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("161x121 has an odd side"), "\(r.stderr)")
        let v = try #require(try TestSupport.probe(dir + "/out.mp4").first)
        #expect(v.width == 161 && v.height == 121, "\(v.width)x\(v.height)")
        #expect(v.frames == 30)
        let m = try Self.metrics(dir + "/m.json")
        #expect(m.lanes["video"]?.labeled == 15)
        // The label (a dark box with light text, top-right) changes the picture there, and only
        // on the synthetic frames; the bottom-left corner stays as it was.
        let before = try TestSupport.lumaFrames(dir + "/in.mkv", width: 161, height: 121)
        let after = try TestSupport.lumaFrames(dir + "/out.mp4", width: 161, height: 121)
        try #require(before.count == 30 && after.count == 30)
        func meanDiff(_ f: Int, x: Range<Int>, y: Range<Int>) -> Double {
            var sum = 0
            for row in y { for col in x { sum += abs(Int(before[f][row * 161 + col]) - Int(after[f][row * 161 + col])) } }
            return Double(sum) / Double(x.count * y.count)
        }
        let topRight = (x: 90..<158, y: 3..<20), bottomLeft = (x: 0..<70, y: 90..<121)
        for f in [0, 10, 14] { #expect(meanDiff(f, x: topRight.x, y: topRight.y) < 3, "frame \(f) is not synthetic") }
        for f in [15, 20, 29] {
            #expect(meanDiff(f, x: topRight.x, y: topRight.y) > 40, "frame \(f): no label in the top-right corner")
            #expect(meanDiff(f, x: bottomLeft.x, y: bottomLeft.y) < 3, "frame \(f): picture changed outside the label")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func onePixelVideoIsAClearError() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try Self.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=30", "-t", "0.5", "-vf", "scale=1:1", "-pix_fmt", "yuv444p",
                         "-c:v", "libx264", dir + "/in.mkv"])
        let r = try TestSupport.labelcast(["run", "-i", "in.mkv", "-o", "out.mkv", "--synthetic", "all"], cwd: dir, timeout: 60)
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("1x1") && r.stderr.contains("too small"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mkv"])
    }

    /// Variable frame rate: every frame keeps its own timestamp, none is added or dropped.
    @Test(.timeLimit(.minutes(1)), arguments: ["dropped", "jitter"])
    func variableFrameRateKeepsTimestamps(_ kind: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        let input = dir + "/in.mp4"
        if kind == "dropped" {
            // Frames 3-5 of every 10 removed: gaps of 133 ms among 33 ms steps.
            try TestSupport.makeMedia(input, seconds: 2, extra: ["-vf", "select='not(between(mod(n\\,10)\\,3\\,5))'", "-fps_mode", "vfr"])
        } else {
            // 25 fps with up to ±20 ms of jitter on each timestamp, in a 1 ms time base.
            try TestSupport.makeMedia(input, seconds: 2, video: "testsrc2=size=320x240:rate=25",
                                      extra: ["-vf", "settb=1/1000,setpts='N/25/TB+0.02*sin(N)/TB'", "-fps_mode", "passthrough",
                                              "-enc_time_base", "1/1000", "-video_track_timescale", "1000"])
        }
        let inTimes = try Self.videoFrameTimes(input)
        let gaps = zip(inTimes.dropFirst(), inTimes).map { $0 - $1 }
        try #require(inTimes.count > 30 && gaps.max()! - gaps.min()! > 0.01, "the input should be VFR: \(gaps)")
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mp4", "--segments", "0.5-1", "-q"], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let outTimes = try Self.videoFrameTimes(dir + "/out.mp4")
        #expect(outTimes.count == inTimes.count)
        for (a, b) in zip(inTimes, outTimes) where abs(a - b) > 0.0005 {
            Issue.record("frame at \(a) s came out at \(b) s")
            break
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func unreachableURLFailsQuickly() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        let started = Date()
        let r = try TestSupport.labelcast(["run", "-i", "rtmp://127.0.0.1:1/x/y", "-o", dir + "/out.flv", "--no-reconnect"], timeout: 60)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        // The stream name (`y`) is the RTMP stream key: named redacted.
        #expect(r.stderr.contains("rtmp://127.0.0.1:1/x/***") && r.stderr.contains("Connection refused"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir).isEmpty)
    }

    /// A network URL without a host used to be aimed at the local host ("Connection refused",
    /// or worse, a local server); now it is named as malformed before anything is opened.
    @Test(.timeLimit(.minutes(1)), arguments: [("-i", "rtmp://"), ("-i", "srt://?mode=caller"), ("-i", "rtmp:///app/key"), ("-o", "rtmp://")])
    func urlWithoutHostIsMalformed(_ side: String, _ url: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 0.5)
        let args = side == "-i" ? ["run", "-i", url, "-o", "out.flv"] : ["run", "-i", "in.mp4", "-o", url]
        let started = Date()
        let r = try TestSupport.labelcast(args, cwd: dir, timeout: 60)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("'\(url.replacingOccurrences(of: "/app/key", with: "/app/***"))' names no host"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4"])
    }

    // MARK: faults while running

    /// Corrupt packets are counted as decode errors and skipped; the run completes and every
    /// frame that was decoded is accounted for.
    @Test(.timeLimit(.minutes(1)))
    func corruptPacketsAreCountedAndSkipped() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/clean.ts", seconds: 2)
        // noise: about one byte in 100 of every packet overwritten.
        try Self.ffmpeg(["-i", dir + "/clean.ts", "-c", "copy", "-bsf:v", "noise=amount=100", "-bsf:a", "noise=amount=100", dir + "/in.ts"])
        let r = try TestSupport.labelcast(["run", "-i", "in.ts", "-o", "out.mp4", "--synthetic", "all", "--metrics-json", "m.json", "-q"],
                                          cwd: dir, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let m = try Self.metrics(dir + "/m.json")
        let v = try #require(m.lanes["video"]), a = try #require(m.lanes["audio"])
        #expect(v.decodeErrors + a.decodeErrors > 0, "\(m.lanes)")
        #expect(v.balanced && a.balanced, "\(m.lanes)")
        #expect(v.framesOut > 0 && v.labeled == v.framesOut)
        let out = try #require(try TestSupport.probe(dir + "/out.mp4").first { $0.codecType == "video" })
        #expect(out.frames == v.framesOut)
    }

    /// stdout that refuses every write (/dev/full): one line, no hang.
    @Test(.timeLimit(.minutes(1)))
    func stdoutThatRefusesWrites() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 2)
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let run = try Running(["run", "-i", dir + "/in.mp4", "-o", "-", "-f", "mpegts", "--synthetic", "all", "-q"], stdout: full)
        let r = try run.wait(timeout: 30)
        #expect(r.reason == .exit && r.status >= 2, "\(r.reason) \(r.status)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && r.stderr.contains("output '-'") && r.stderr.contains("disk full"), "\(r.stderr)")
    }

    /// A FIFO (or device) named as the output is written in place. It used to get a temporary
    /// file beside it renamed over it: the reader got nothing and, as root, `-o /dev/null`
    /// would have replaced the device node with a regular file.
    @Test(.timeLimit(.minutes(1)))
    func specialFileOutputIsWrittenInPlace() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 1)
        let fifo = dir + "/pipe.ts", received = dir + "/received.ts"
        try #require(mkfifo(fifo, 0o600) == 0)
        try #require(FileManager.default.createFile(atPath: received, contents: nil))
        let cat = Process()
        cat.executableURL = URL(fileURLWithPath: try TestSupport.which("cat"))
        cat.arguments = [fifo]
        cat.standardOutput = FileHandle(forWritingAtPath: received)
        try cat.run()
        defer { if cat.isRunning { kill(cat.processIdentifier, SIGKILL) } }
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mp4", "-o", fifo, "-f", "mpegts", "--synthetic", "all", "-q"], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.fileType(fifo) == S_IFIFO, "the FIFO was replaced")
        let deadline = Date().addingTimeInterval(10)
        while cat.isRunning && Date() < deadline { usleep(20_000) }
        #expect(!cat.isRunning, "the reader never saw the end of the stream")
        let v = try #require(try TestSupport.probe(received).first { $0.codecType == "video" })
        #expect(v.frames == 30)
        #expect(TestSupport.files(in: dir) == ["in.mp4", "pipe.ts", "received.ts"])
    }

    /// SIGKILL mid-run: the audit log and the frame log hold whole lines only, and nothing sits
    /// at the output's name (its temporary `.out.mp4.partial-PID` may).
    @Test(.timeLimit(.minutes(1)))
    func sigkillLeavesWholeLogLinesAndNoOutput() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 6)
        let run = try Running(["run", "-i", dir + "/in.mp4", "-o", dir + "/out.mp4", "--realtime", "--segments", "1-3",
                               "--audit-log", dir + "/audit.jsonl", "--frame-log", dir + "/frames.csv", "-q"])
        try Self.waitForFile(dir + "/frames.csv")
        Thread.sleep(forTimeInterval: 2)
        kill(run.process.processIdentifier, SIGKILL)
        let r = try run.wait(timeout: 10)
        #expect(r.reason == .uncaughtSignal && r.status == SIGKILL)

        let audit = try Data(contentsOf: URL(fileURLWithPath: dir + "/audit.jsonl"))
        #expect(audit.last == 0x0A, "the audit log ends inside a line")
        let events = try audit.split(separator: 0x0A).map { line -> String in
            let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            return try #require(object?["event"] as? String)
        }
        #expect(events.first == "run_start")
        #expect(events.contains("segment_start"), "\(events)")
        #expect(!events.contains("run_end"))

        let csv = try Data(contentsOf: URL(fileURLWithPath: dir + "/frames.csv"))
        #expect(csv.last == 0x0A, "the frame log ends inside a row")
        let lines = String(decoding: csv, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let columns = lines.first?.split(separator: ",").count ?? 0
        #expect(columns == 16)
        #expect(lines.count > 60, "\(lines.count) rows in 2 s")
        for (i, line) in lines.enumerated() where line.split(separator: ",", omittingEmptySubsequences: false).count != columns {
            Issue.record("row \(i) has the wrong column count: \(line)")
        }

        #expect(!FileManager.default.fileExists(atPath: dir + "/out.mp4"))
        let others = TestSupport.files(in: dir).filter { !["in.mp4", "audit.jsonl", "frames.csv"].contains($0) }
        #expect(others.allSatisfy { $0.hasPrefix(".out.mp4.partial-") }, "\(others)")
    }

    /// SIGTERM at different moments of a run: exit 143, a playable output, a complete report.
    @Test(.timeLimit(.minutes(1)), arguments: [0.3, 1.0, 2.5])
    func sigtermFinalizes(after delay: Double) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 6)
        let run = try Running(["run", "-i", dir + "/in.mp4", "-o", dir + "/out.mp4", "--realtime", "--segments", "0.2-",
                               "--metrics-json", dir + "/m.json", "--frame-log", dir + "/frames.csv"])
        try Self.waitForFile(dir + "/frames.csv")
        Thread.sleep(forTimeInterval: delay)
        kill(run.process.processIdentifier, SIGTERM)
        let r = try run.wait(timeout: 20)
        #expect(r.reason == .exit && r.status == 143, "\(r.reason) \(r.status): \(r.stderr)")
        #expect(!r.stderr.contains("error"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["frames.csv", "in.mp4", "m.json", "out.mp4"])

        let decode = try TestSupport.run("ffmpeg", ["-v", "error", "-i", dir + "/out.mp4", "-f", "null", "-"])
        #expect(decode.status == 0 && decode.stderr.isEmpty, "\(decode.stderr)")
        let video = try #require(try TestSupport.probe(dir + "/out.mp4").first { $0.codecType == "video" })
        #expect(video.frames > 0 && video.frames < 180, "\(video.frames) frames")

        let m = try Self.metrics(dir + "/m.json")
        #expect(m.interrupted == true)
        let v = try #require(m.lanes["video"])
        #expect(v.balanced && v.framesOut == video.frames, "\(v) vs \(video.frames) in the file")
        #expect(m.lanes["audio"]?.balanced == true)
        // Roughly as far as the wall clock got (paced at real time), not the whole file.
        #expect(Double(v.framesOut) / 30 < delay + 2, "\(v.framesOut) frames after \(delay) s")
    }

    /// A signal that comes while labelcast is still starting (here: blocked opening a key FIFO
    /// nobody writes yet, before the run has its signal watcher) is kept, not fatal: the run
    /// stops before it opens the input, exit 143, one line of why, no output file at all.
    /// The same FIFO, written to, shows that a key can come from a pipe (`<(vault read …)`).
    @Test(.timeLimit(.minutes(1))) func sigtermWhileStartingIsKeptAndKeyComesFromAPipe() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 2)
        let fifo = dir + "/key.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        func feedKey() {
            // Opening for writing blocks until labelcast opens it for reading.
            DispatchQueue.global().async {
                if let h = FileHandle(forWritingAtPath: fifo) { h.write(Data("a pipe-fed key of enough bytes\n".utf8)); try? h.close() }
            }
        }
        // 1: SIGTERM while blocked on the key.
        var run = try Running(["run", "-i", dir + "/in.mp4", "-o", dir + "/out.mp4", "--synthetic", "all", "--key-file", fifo])
        // Signalled once it is blocked opening the FIFO (the kernel's wait for a writer), not
        // after a fixed sleep: under load a fixed 0.8 s could come before main had begun.
        let pid = run.process.processIdentifier
        func blockedOnFIFO() -> Bool {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            return tasks.contains { (try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/wchan", encoding: .utf8)) == "wait_for_partner" }
        }
        let deadline = Date().addingTimeInterval(20)
        while !blockedOnFIFO() && run.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        try #require(blockedOnFIFO(), "labelcast never blocked on the key FIFO")
        kill(pid, SIGTERM)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(run.process.isRunning, "a SIGTERM while starting killed the process")
        feedKey()
        var r = try run.wait(timeout: 20)
        #expect(r.reason == .exit && r.status == 143, "\(r.reason) \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("interrupted before the input"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4", "key.fifo"])
        // 2: the same FIFO as a key source, no signal: the run completes with that key.
        run = try Running(["run", "-i", dir + "/in.mp4", "-o", dir + "/out.mp4", "--synthetic", "all", "--key-file", fifo])
        feedKey()
        r = try run.wait(timeout: 60)
        #expect(r.reason == .exit && r.status == 0, "\(r.reason) \(r.status): \(r.stderr)")
        #expect(!r.stderr.contains("demo key"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4", "key.fifo", "out.mp4"])
    }

    /// A real disk filling up under a file output (a 1 MiB tmpfs; mounting needs root, as CI
    /// runs): a one-line error that says so, exit 2, and nothing left on that disk, in each of
    /// the three muxers people use for files.
    @Test(.enabled(if: getuid() == 0), arguments: ["out.mp4", "out.mkv", "out.ts"])
    func diskFullOnFileOutput(name: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 5, video: "testsrc2=size=640x360:rate=30",
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast"])
        let disk = dir + "/small"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let mount = try TestSupport.run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", disk])
        try #require(mount.status == 0, "cannot mount a tmpfs: \(mount.stderr)")
        defer { _ = try? TestSupport.run("umount", [disk]) }
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mp4", "-o", disk + "/" + name, "--synthetic", "all", "-q"])
        #expect(r.status == 2, "\(r.status): \(r.stderr)")
        let lines = r.stderr.split(whereSeparator: \.isNewline)
        #expect(lines.count == 1 && r.stderr.contains("output '\(disk)/\(name)': disk full; nothing was kept"), "\(r.stderr)")
        #expect(TestSupport.files(in: disk).isEmpty, "\(TestSupport.files(in: disk))")
    }

    /// MPEG-TS timestamps are 33 bits at 90 kHz and wrap after 26.5 h: a 24/7 TS feed crosses
    /// the wrap every day. Here it comes 1.02 s into the file, inside a synthetic segment (1-3 s):
    /// every frame comes through, exactly the frames in [1, 3) s are labeled, and the output's
    /// video runs on evenly across the wrap.
    @Test func mpegtsTimestampWrap() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hardening")
        let input = dir + "/wrap.ts", output = dir + "/out.mp4", log = dir + "/frames.csv"
        // 2^33 / 90000 = 95443.72 s; the muxer adds its own 1.4 s delay: the first packet is
        // 1 s before the wrap.
        try Self.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=sample_rate=48000",
                         "-t", "5", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                         "-output_ts_offset", "95441.318", "-f", "mpegts", input])
        let raw = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v", "-show_entries", "packet=pts",
                                                  "-of", "csv=p=0", "-correct_ts_overflow", "0", input])
        let pts = raw.stdoutText.split(whereSeparator: \.isNewline).compactMap { $0.split(separator: ",").first.flatMap { Int64($0) } }
        #expect(pts.first ?? 0 > 8_589_000_000 && pts.contains { $0 < 1_000_000 }, "the input does not wrap: \(pts.prefix(3))")

        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--segments", "1-3", "--frame-log", log])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("video: 150 frames in = 150 out + 0 dropped; 60 labeled"), "\(r.stderr)")
        let rows = try String(contentsOfFile: log, encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst()
            .map { $0.split(separator: ",") }.filter { $0[1] == "video" }
        #expect(rows.count == 150)
        for row in rows {
            let t = Double(row[2]) ?? -1
            #expect((row[4] == "1") == (t >= 1 && t < 3), "frame at \(t) s labeled=\(row[4])")
        }
        let times = try Self.videoFrameTimes(output)
        #expect(times.count == 150)
        let steps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(steps.allSatisfy { abs($0 - 1.0 / 30) < 0.002 }, "uneven steps: \(steps.filter { abs($0 - 1.0 / 30) >= 0.002 })")
    }
}
