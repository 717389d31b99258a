import Foundation
import Testing
import TestSupport

/// Bad input gets one line that says what is wrong, a status of 2 or more, and no output file.
@Suite struct BadInputTests {
    static let cases: [(name: String, args: [String], mentions: String)] = [
        ("missing file", ["-i", "/nonexistent/in.mp4"], "does not exist"),
        ("unknown protocol", ["-i", "nosuchproto://x/y"], "unsupported protocol"),
        ("bad synthetic", ["--synthetic", "maybe"], "--synthetic 'maybe'"),
        ("reversed segment", ["--segments", "5-3"], "reversed"),
        ("overlapping segments", ["--segments", "1-5,4-8"], "overlaps"),
        ("garbage segments", ["--segments", "soon"], "START-END"),
        ("negative gop", ["--gop", "-1"], "--gop"),
        ("bad bitrate", ["--video-bitrate", "fast"], "--video-bitrate 'fast'"),
        ("bad crf", ["--crf", "99"], "--crf"),
        ("segments twice", ["--segments", "1-2", "--segments-file", "x.json"], "use one"),
        ("missing segments file", ["--segments-file", "/nonexistent/s.json"], "does not exist"),
        ("unknown encoder", ["--video-codec", "nonesuch264"], "nonesuch264"),
        ("unknown format", ["-f", "nosuchformat"], "nosuchformat"),
        ("unknown option", ["--frobnicate"], "frobnicate"),
    ]

    @Test(arguments: 0..<cases.count)
    func rejectsWithOneLine(index: Int) throws {
        let c = Self.cases[index]
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try TestSupport.makeMedia(input, seconds: 0.5)
        var args = ["run", "-i", input, "-o", output]
        // A case's own -i replaces the default.
        if let i = c.args.firstIndex(of: "-i") { args[2] = c.args[i + 1]; args += c.args.enumerated().filter { $0.offset != i && $0.offset != i + 1 }.map(\.element) } else { args += c.args }
        let r = try TestSupport.labelcast(args, cwd: dir)
        #expect(r.status >= 2, "\(c.name): status \(r.status)")
        #expect(r.errorLines.count == 1, "\(c.name): \(r.stderr)")
        #expect(r.stderr.hasPrefix("labelcast: error: "), "\(c.name): \(r.stderr)")
        #expect(r.stderr.contains(c.mentions), "\(c.name): \(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4"], "\(c.name): left \(TestSupport.files(in: dir))")
    }

    @Test func garbageFileIsNotMedia() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        var bytes = [UInt8](repeating: 0, count: 100_000)
        var x: UInt32 = 12345
        for i in bytes.indices { x = x &* 1103515245 &+ 12345; bytes[i] = UInt8(truncatingIfNeeded: x >> 16) }
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mp4"])
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("not a media file") || r.stderr.contains("no audio or video"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4"])
    }

    @Test func emptyFileIsRejected() throws {
        let dir = try TestSupport.temporaryDirectory()
        FileManager.default.createFile(atPath: dir + "/in.mp4", contents: Data())
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mp4", "-o", dir + "/out.mp4"])
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4"])
    }

    @Test func unwritableOutputIsAClearError() throws {
        let dir = try TestSupport.temporaryDirectory()
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 0.5)
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mp4", "-o", "/nonexistent-dir/out.mp4"])
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("/nonexistent-dir/out.mp4"), "\(r.stderr)")
    }

    @Test func credentialsNeverAppearInErrors() throws {
        let r = try TestSupport.labelcast(["run", "-i", "rtmp://alice:s3cret@127.0.0.1:1/app/key", "-o", "/tmp/x.flv", "--read-timeout", "2", "--no-reconnect"], timeout: 60)
        #expect(r.status >= 2)
        #expect(!r.stderr.contains("s3cret"), "\(r.stderr)")
        #expect(r.errorLines.count == 1, "\(r.stderr)")
    }
}
