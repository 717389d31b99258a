import Foundation
import Testing
import TestSupport

/// A MOV's CEA-608 caption track (`c608`, made by ffmpeg from a Scenarist SCC file): kept as it
/// is in MOV, converted to the output's own text codec in MP4 (mov_text) and Matroska (ASS),
/// each caption with its text and on its pictures. Oracle: ffmpeg's own caption decoder on the
/// input (the same captions as SubRip), against the output decoded the same way.
@Suite(.serialized) struct CaptionTrackTests {
    /// Two pop-on captions: "Hello" shown at 0:00:00;10 and cleared at 2 s, "World" shown at
    /// 0:00:02;10 and cleared at 0:00:03;20 (bytes with odd parity, as CEA-608 sends them).
    static let scc = """
    Scenarist_SCC V1.0

    00:00:00:10\t9420 9420 94ae 94ae 9452 9452 97a1 97a1 c8e5 ecec ef80 942c 942c 942f 942f

    00:00:02:00\t942c 942c

    00:00:02:10\t9420 9420 94ae 94ae 9452 9452 97a1 97a1 57ef f2ec 6480 942c 942c 942f 942f

    00:00:03:20\t942c 942c

    """

    struct Cue: Equatable, CustomStringConvertible {
        let start: Double, end: Double, text: String
        var description: String { String(format: "%.3f–%.3f %@", start, end, text) }
    }

    /// The captions of `path`'s first subtitle stream, decoded by ffmpeg to SubRip, with the
    /// tags taken out and the times made relative to the first picture.
    static func cues(_ path: String) throws -> [Cue] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:s:0", "-f", "srt", "-"])
        guard r.status == 0 else { throw TestFailure("ffmpeg could not read the captions of \(path): \(r.stderr)") }
        let video = try PreservationTests.firstVideoTime(path)
        func seconds(_ s: Substring) -> Double {
            let t = s.replacingOccurrences(of: ",", with: ".").split(separator: ":").compactMap { Double($0) }
            return t.count == 3 ? t[0] * 3600 + t[1] * 60 + t[2] : .nan
        }
        return r.stdoutText.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n")
            guard let timing = lines.first(where: { $0.contains("-->") }) else { return nil }
            let parts = timing.components(separatedBy: " --> ")
            let text = lines.drop { !$0.contains("-->") }.dropFirst().joined(separator: " ")
                .replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
                .replacingOccurrences(of: "\\{[^}]*\\}", with: "", options: .regularExpression)
            return Cue(start: seconds(Substring(parts[0])) - video, end: seconds(Substring(parts[1])) - video, text: text)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func cea608CaptionsKeepTheirTextAndTimes() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-c608")
        try Self.scc.write(toFile: dir + "/cc.scc", atomically: true, encoding: .utf8)
        let input = dir + "/in.mov"
        let mk = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30000/1001",
            "-f", "lavfi", "-i", "sine=f=440", "-i", dir + "/cc.scc", "-t", "4", "-map", "0:v", "-map", "1:a", "-map", "2",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-c:s", "copy", input])
        #expect(mk.status == 0, "\(mk.stderr)")
        let expected = try Self.cues(input)
        #expect(expected.map(\.text) == ["Hello", "World"], "the input: \(expected)")
        for (ext, codec) in [("mov", "eia_608"), ("mp4", "mov_text"), ("mkv", "ass")] {
            let out = dir + "/out." + ext
            let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "-q"])
            #expect(r.status == 0, "\(ext): \(r.stderr)")
            let subtitles = try PreservationTests.streams(out).filter { $0.type == "subtitle" }.map(\.codec)
            #expect(subtitles == [codec], "\(ext): \(subtitles)")
            let got = try Self.cues(out)
            #expect(got.map(\.text) == expected.map(\.text), "\(ext): \(got) against \(expected)")
            // On the same pictures: within one frame (1/29.97 s; Matroska's times are whole ms).
            for (g, e) in zip(got, expected) {
                #expect(abs(g.start - e.start) < 0.034 && abs(g.end - e.end) < 0.034, "\(ext): \(g) against \(e)")
            }
        }
    }
}
