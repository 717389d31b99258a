import Foundation
import Testing
import TestSupport

/// A synthetic boundary right after a gap in the input's audio timestamps (issue 15, item 4's
/// gap sub-case). The audio lane times samples by counting them and follows the timestamps
/// only once an offset has held for `AudioClock.confirmFrames` frames; the frames of that
/// streak used to go out on the sample count, i.e. early by the whole gap: the first samples
/// after the gap were judged (schedule, watermark, gate) and written at the media time before
/// it. Oracle: the decoded output, PCM in WAV, so each sample's index is its media time. The
/// watermark is the difference between a run with the segment and one without (the same
/// timing path, the mark off), so where it starts is read off the samples.
@Suite(.serialized) struct AudioGapBoundaryTests {
    /// aevalsrc frames of 1024 samples at 48 kHz: frame k starts at k·1024/48000 s. aselect
    /// drops the ten that start in [2.0, 2.2] (k = 94…103) and keeps the others' timestamps.
    static let rate = 48000.0
    static let gapStart = 94 * 1024 / rate   // 2.005333: the end of the last frame before the hole
    static let gapEnd = 104 * 1024 / rate    // 2.218667: the first frame after it
    static let amplitude = 0.3

    /// The tone the input carries at media time `t` (where it has samples).
    static func tone(_ t: Double) -> Double { amplitude * sin(2 * Double.pi * 440 * t) }

    static func makeInput(_ path: String) throws {
        // NUT keeps audio timestamps in samples (Matroska would round them to ms).
        let r = try TestSupport.run("ffmpeg", [
            "-v", "error", "-y", "-f", "lavfi", "-i", "aevalsrc=\(amplitude)*sin(2*PI*440*t):s=48000:c=stereo:n=1024",
            "-t", "4", "-af", "aselect='not(between(t,2,2.2))'", "-c:a", "pcm_s16le", path])
        guard r.status == 0 else { throw TestFailure("ffmpeg: \(r.stderr)") }
    }

    /// The first channel of a file's first audio stream, decoded as float at 48 kHz.
    static func samples(_ path: String) throws -> [Float] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-af", "pan=mono|c0=c0", "-ar", "48000", "-f", "f32le", "-"])
        guard r.status == 0 else { throw TestFailure("ffmpeg could not decode \(path): \(r.stderr)") }
        return r.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    @Test(.timeLimit(.minutes(2)))
    func theFirstSampleAfterAGapIsJudgedAtItsOwnMediaTime() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-gap-boundary")
        let input = dir + "/in.nut"
        try Self.makeInput(input)
        let boundary = String(format: "%.6f", Self.gapEnd)
        let marked = dir + "/marked.wav", plain = dir + "/plain.wav"
        let m = try TestSupport.labelcast(["run", "-i", input, "-o", marked, "--segments", boundary + "-", "--metrics-json", dir + "/m.json"])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(m.stderr.contains("filled a 213.3 ms gap"), "\(m.stderr)")
        #expect(!m.stderr.contains("withheld"), "a frame was withheld at the gap: \(m.stderr)")
        let p = try TestSupport.labelcast(["run", "-i", input, "-o", plain, "--synthetic", "none", "-q"])
        #expect(p.status == 0, "\(p.stderr)")
        let a = try Self.samples(marked), b = try Self.samples(plain)
        #expect(abs(a.count - 4 * 48000) <= 1 && a.count == b.count, "\(a.count) / \(b.count) samples")
        guard a.count == b.count, a.count > 3 * 48000 else { return }

        // Placement: silence where the input has no samples, the tone at its own media time
        // after the hole (before the fix the 2-3 frames after it went out at 2.005 s and the
        // silence came after them).
        let hole = Int((Self.gapStart + 0.001) * Self.rate)..<Int((Self.gapEnd - 0.001) * Self.rate)
        let loudInHole = hole.filter { abs(b[$0]) > 0.01 }
        #expect(loudInHole.count == 0, "sound inside the input's gap from \(loudInHole.first.map { Double($0) / Self.rate } ?? 0) s (\(loudInHole.count) samples)")
        let after = Int(Self.gapEnd * Self.rate)..<Int((Self.gapEnd + 0.1) * Self.rate)
        let worst = after.map { abs(Double(b[$0]) - Self.tone(Double($0) / Self.rate)) }.max() ?? 1
        #expect(worst < 0.01, "the tone after the gap is off its media time (worst error \(worst))")
        let before = Int((Self.gapStart - 0.1) * Self.rate)..<Int((Self.gapStart - 0.001) * Self.rate)
        let worstBefore = before.map { abs(Double(b[$0]) - Self.tone(Double($0) / Self.rate)) }.max() ?? 1
        #expect(worstBefore < 0.01, "the tone before the gap is off its media time (worst error \(worstBefore))")

        // Marking: nothing before the boundary, and the mark from it on (the embedder ramps in
        // over 10 ms inside the range, so the first audible difference is a few ms after it).
        let diff = zip(a, b).map { abs($0 - $1) }
        let first = try #require(diff.firstIndex { $0 > 1e-4 }, "the marked run carries no mark")
        let start = Double(first) / Self.rate
        #expect(start >= Self.gapEnd - 0.5 / Self.rate && start < Self.gapEnd + 0.005,
                "the mark starts at \(start) s, the boundary is at \(Self.gapEnd) s (\(String(format: "%+.1f", (start - Self.gapEnd) * 1000)) ms)")
        // And it carries on: marked in every 20 ms window of the next second.
        let windows = stride(from: first, to: min(diff.count, first + 48000), by: 960).filter { w in
            !(w..<min(diff.count, w + 960)).contains { diff[$0] > 1e-4 }
        }
        #expect(windows.isEmpty, "unmarked 20 ms windows after the boundary at \(windows.prefix(5).map { Double($0) / Self.rate })")
    }
}
