import Foundation
import Testing
import TestSupport

/// ffmpeg-style and unknown options are one error line naming the option (and, for ffmpeg's,
/// labelcast's way), status 2, no help text, nothing written. (They used to print the help and
/// exit 0: `-hls_time` parsed as the short flags `-h -l -s …`.)
@Suite struct ForeignOptionTests {
    static let cases: [(args: [String], mentions: [String])] = [
        (["-hls_time", "4"], ["'-hls_time'", "--muxer-opt hls_time=4"]),
        (["-hwaccel", "cuda"], ["'-hwaccel'", "software"]),
        (["-c:v", "libx264"], ["'-c:v'", "--video-codec libx264"]),
        (["-b:a", "96k"], ["'-b:a'", "--audio-bitrate 96k"]),
        (["-movflags", "+faststart"], ["'-movflags'", "--muxer-opt movflags=+faststart"]),
        (["-re"], ["'-re'", "--realtime"]),
        (["-y"], ["'-y'"]),
        (["-nosuchthing"], ["'-nosuchthing'", "--help"]),
        (["--hls-time", "4"], ["'--hls-time'", "--muxer-opt hls_time=4"]),
        (["--frobnicate"], ["'--frobnicate'"]),
    ]

    @Test(arguments: 0..<cases.count)
    func rejectsWithOneLine(index: Int) throws {
        let c = Self.cases[index]
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 0.5)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mp4"] + c.args, cwd: dir)
        #expect(r.status == 2, "\(c.args): status \(r.status)")
        #expect(r.stdout.isEmpty, "\(c.args): no help on stdout: \(r.stdoutText.prefix(200))")
        #expect(r.errorLines.count == 1 && r.stderr.hasPrefix("labelcast: error: unknown option"), "\(c.args): \(r.stderr)")
        for m in c.mentions { #expect(r.stderr.contains(m), "\(c.args): '\(m)' in \(r.stderr)") }
        #expect(TestSupport.files(in: dir) == ["in.mp4"], "\(c.args): left \(TestSupport.files(in: dir))")
    }

    /// What is labelcast's own stays accepted: short options, negative numbers as values, `-`.
    @Test func ownOptionsStillParse() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 0.5)
        let ok = try TestSupport.labelcast(["run", "-i", input, "-o", "-", "-f", "mpegts", "-q"])
        #expect(ok.status == 0 && ok.stdout.count > 1000, "\(ok.stderr)")
        let negative = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/o.mp4", "--gop", "-1"])
        #expect(negative.status >= 2 && negative.stderr.contains("--gop") && !negative.stderr.contains("unknown option"), "\(negative.stderr)")
        let help = try TestSupport.labelcast(["run", "-h"])
        #expect(help.status == 0 && help.stdoutText.contains("--video-codec"))
    }
}
