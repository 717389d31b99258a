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
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: metrics)), as: UTF8.self)
        #expect(text.contains("\"samples_filled\" : 10240") || text.contains("\"samples_filled\":10240"), "\(text.prefix(2000))")
        let samples = try TestSupport.audioSampleCount(output)
        #expect(abs(samples - 4 * 48000) <= 1024, "\(samples) samples out")
        let video = try #require(try TestSupport.probe(output).first { $0.codecType == "video" })
        #expect(video.frames == 100)
    }
}
