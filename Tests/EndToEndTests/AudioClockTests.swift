import Foundation
import Testing
import TestSupport

/// Audio is timed by counting samples, so a gap in the input's audio timestamps (a reconnect, a
/// restarted publisher, lost packets) must be filled, or all later audio plays early against
/// the video. The input here loses 10 AAC-sized frames (213 ms) of audio at 2 s with their
/// timestamps kept, and carries a 1 kHz burst at exactly 3.000 s: the output must play the burst
/// at 3.000 s (within 5 ms), as the video clock says, with or without the watermark (whose
/// look-ahead delays the samples inside the lane).
@Suite(.serialized) struct AudioClockTests {
    static let burstAt = 3.0

    /// Where the first loud sample of a file's first audio stream is, in seconds (ffmpeg decodes).
    static func onset(_ path: String) throws -> Double {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"])
        guard r.status == 0 else { throw TestFailure("ffmpeg could not decode \(path): \(r.stderr)") }
        let samples = r.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let i = try #require(samples.firstIndex { abs($0) > 0.1 }, "no burst in \(path)")
        return Double(i) / 48000
    }

    /// The audio lane's counts from a --metrics-json file.
    static func audioCounts(_ path: String) throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let lanes = json?["lanes"] as? [[String: Any]] ?? []
        let audio = try #require(lanes.first { $0["lane"] as? String == "audio" }, "no audio lane in \(path)")
        return audio["counts"] as? [String: Any] ?? [:]
    }

    static func makeGappedInput(_ path: String) throws {
        // aevalsrc makes 1024-sample frames; aselect drops the ten that start in [2.0, 2.2] and
        // keeps the others' timestamps, so the file has a 213.3 ms hole in its audio. NUT keeps
        // audio timestamps in samples (Matroska would round them to ms); the output is MP4,
        // whose edit list hides the AAC encoder's priming from the decoding oracle.
        let r = try TestSupport.run("ffmpeg", [
            "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-f", "lavfi", "-i", "aevalsrc=if(between(t\\,3\\,3.1)\\,0.5*sin(2*PI*1000*t)\\,0):s=48000",
            "-t", "4", "-af", "aselect='not(between(t,2,2.2))'", "-pix_fmt", "yuv420p",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", path])
        guard r.status == 0 else { throw TestFailure("ffmpeg: \(r.stderr)") }
    }

    @Test(arguments: [[String](), ["--synthetic", "all"]])
    func aGapInTheInputsAudioIsFilled(extra: [String]) throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.nut", output = dir + "/out.mp4", metrics = dir + "/m.json"
        try Self.makeGappedInput(input)
        // The oracle sees the hole: played gaplessly, the input's burst comes 213 ms early.
        let inputOnset = try Self.onset(input)
        #expect(abs(inputOnset - (Self.burstAt - 0.2133)) < 0.005, "input burst at \(inputOnset) s")

        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--metrics-json", metrics] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        let outputOnset = try Self.onset(output)
        #expect(abs(outputOnset - Self.burstAt) < 0.005, "output burst at \(outputOnset) s, want \(Self.burstAt) s")
        #expect(r.stderr.contains("filled a 213.3 ms gap"), "\(r.stderr)")
        // Accounted: 10240 samples of silence at 48 kHz; audio ends with the video (4 s).
        let counts = try Self.audioCounts(metrics)
        #expect(counts["samples_filled"] as? Int == 10240 && counts["samples_trimmed"] as? Int == 0, "\(counts)")
        let samples = try TestSupport.audioSampleCount(output)
        #expect(abs(samples - 4 * 48000) <= 1024, "\(samples) samples out")
        let video = try #require(try TestSupport.probe(output).first { $0.codecType == "video" })
        #expect(video.frames == 100)
    }

    /// Audio whose timestamps jitter (every other 1024-sample frame stamped 15 ms late, as
    /// wall-clock-stamped encoders do) but whose samples are continuous: nothing is filled or
    /// cut (each would be a click), and the burst still plays at 3.000 s.
    @Test func jitteryTimestampsAreNotFollowed() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.nut", output = dir + "/out.mp4", metrics = dir + "/m.json"
        let make = try TestSupport.run("ffmpeg", [
            "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-f", "lavfi", "-i", "aevalsrc=if(between(t\\,3\\,3.1)\\,0.5*sin(2*PI*1000*t)\\,0):s=48000",
            "-t", "4", "-af", "asetpts='PTS+0.015/TB*mod(floor(N/1024),2)'", "-pix_fmt", "yuv420p",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", input])
        try #require(make.status == 0, "\(make.stderr)")
        let pts = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "a", "-show_entries", "packet=pts_time",
                                                  "-of", "csv=p=0", input]).stdoutText
            .split(whereSeparator: \.isNewline).compactMap { Double($0.split(separator: ",").first ?? "") }
        let jitter = zip(pts.dropFirst(), pts).map { $0 - $1 - 1024.0 / 48000 }
        #expect(jitter.contains { $0 > 0.014 } && jitter.contains { $0 < -0.014 }, "the input does not jitter: \(jitter.prefix(4))")

        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--metrics-json", metrics, "--synthetic", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        let counts = try Self.audioCounts(metrics)
        #expect(counts["samples_filled"] as? Int == 0 && counts["samples_trimmed"] as? Int == 0, "\(counts)")
        #expect(!r.stderr.contains("gap"), "\(r.stderr)")
        let onset = try Self.onset(output)
        #expect(abs(onset - Self.burstAt) < 0.005, "output burst at \(onset) s")
    }
}
