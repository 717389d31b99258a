import CFFmpeg
import Foundation
import Labelcast
import MediaIO
import Testing
import TestSupport

/// The gate before each encoder: whatever a labeling processor does, no synthetic frame reaches
/// the output without every layer that is on. Processors that lie, fail or skip frames are
/// injected through the job's processor factories; the oracle is the decoded output (ffprobe
/// frame times, ffmpeg-decoded pixels and samples), not labelcast's own counters.
@Suite(.serialized) struct LabelGateTests {
    /// Claims to have labeled every frame (`labeled = true`) without applying any layer.
    final class LyingProcessor: FrameProcessor, @unchecked Sendable {
        func process(_ frame: LaneFrame) throws -> ProcessResult { frame.labeled = true; return .emit([frame]) }
        func finish() throws -> [LaneFrame] { [] }
    }
    /// Throws for synthetic frames (a labeler that fails).
    final class FailingProcessor: FrameProcessor, @unchecked Sendable {
        struct Broken: Error {}
        func process(_ frame: LaneFrame) throws -> ProcessResult {
            if frame.synthetic { throw Broken() }
            return .emit([frame])
        }
        func finish() throws -> [LaneFrame] { [] }
    }
    /// Really labels (a white 32x32 square top-left, `.overlay`) every other synthetic frame
    /// and passes the others on bare, without saying so.
    final class SkippingPainter: FrameProcessor, @unchecked Sendable {
        var count = 0
        func process(_ lf: LaneFrame) throws -> ProcessResult {
            guard lf.synthetic else { return .emit([lf]) }
            count += 1
            guard count % 2 == 0 else { return .emit([lf]) }
            try lf.frame.makeWritable()
            let y = lf.frame.plane(0)!, stride = lf.frame.linesize(0)
            for row in 0..<32 { for x in 0..<32 { y[row * stride + x] = 235 } }
            lf.layers.insert(.overlay)
            lf.labeled = true
            return .emit([lf])
        }
        func finish() throws -> [LaneFrame] { [] }
    }

    static func frameTimes(_ file: String) throws -> [Double] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", file])
        return r.stdoutText.split(whereSeparator: \.isNewline).compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }
    }

    static func run(_ dir: String, video: (@Sendable () -> any FrameProcessor)? = nil, audio: (@Sendable () -> any FrameProcessor)? = nil,
                    output: String = "out.mkv") async throws -> RunReport {
        var job = LabelJob(input: dir + "/in.mp4", output: dir + "/" + output)
        job.segments = [SyntheticRange(start: 1, end: 3)]
        if let video { job.videoProcessorFactory = { _, _ in video() } }
        if let audio { job.audioProcessorFactory = { _, _ in audio() } }
        return try await LabelRunner(job: job).run()
    }

    @Test(.timeLimit(.minutes(2)))
    func lyingAndFailingVideoProcessorsLeakNothing() async throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-gate")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 4, video: "testsrc2=size=320x240:rate=25")
        let cases: [(String, @Sendable () -> any FrameProcessor)] = [("lying", { LyingProcessor() }), ("failing", { FailingProcessor() })]
        for (name, factory) in cases {
            let report = try await Self.run(dir, video: factory)
            let times = try Self.frameTimes(dir + "/out.mkv")
            // The 50 frames of [1, 3) never reach the output; the 50 others all do.
            #expect(!times.contains { $0 >= 1 - 0.001 && $0 < 3 - 0.001 }, "\(name): synthetic frames went out: \(times.filter { $0 >= 1 && $0 < 3 }.prefix(5))")
            #expect(times.count == 50, "\(name): \(times.count) frames out")
            let v = try #require(report.lane(Lane.video))
            let reason = name == "lying" ? "label-missing" : "label-failed"
            #expect(v.counts.dropped[reason] == 50, "\(name): \(v.counts.dropped)")
            #expect(v.counts.framesOut == 50 && v.counts.framesLabeled == 0, "\(name): \(v.counts)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aProcessorThatSkipsFramesGetsOnlyItsLabeledOnesOut() async throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-gate-skip")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 4, video: "color=c=0x404040:size=320x240:rate=25")
        let report = try await Self.run(dir, video: { SkippingPainter() })
        let times = try Self.frameTimes(dir + "/out.mkv")
        let frames = try TestSupport.lumaFrames(dir + "/out.mkv", width: 320, height: 240)
        #expect(times.count == frames.count && frames.count == 75, "\(times.count) times, \(frames.count) frames")
        var inRange = 0
        for (t, f) in zip(times, frames) {
            let painted = f[16 * 320 + 16] > 200
            if t >= 0.999 && t < 2.999 {
                inRange += 1
                #expect(painted, "an unlabeled synthetic frame went out at \(t)")
            } else {
                #expect(!painted, "frame at \(t) labeled outside the segment")
            }
        }
        #expect(inRange == 25)
        #expect(report.lane(.video)?.counts.dropped["label-missing"] == 25)
    }

    /// Audio: a watermark stand-in that claims to mark but does not. The synthetic second and
    /// a half must come out as silence (the lane's clock fills what was withheld), the rest as
    /// the input's tone.
    @Test(.timeLimit(.minutes(2)))
    func lyingAudioProcessorLeaksNoSyntheticAudio() async throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-gate-audio")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 4, video: "testsrc2=size=320x240:rate=25")
        let report = try await Self.run(dir, audio: { LyingProcessor() })
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", dir + "/out.mkv", "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"])
        let samples = r.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        func rms(_ a: Double, _ b: Double) -> Double {
            let s = samples[Int(a * 48000)..<min(samples.count, Int(b * 48000))]
            return (s.reduce(0) { $0 + Double($1 * $1) } / Double(max(1, s.count))).squareRoot()
        }
        #expect(samples.count > 3 * 48000)
        #expect(rms(1.1, 2.9) < 0.001, "synthetic audio went out unmarked: rms \(rms(1.1, 2.9))")
        #expect(rms(0.2, 0.9) > 0.05 && rms(3.1, 3.8) > 0.05, "programme outside the segment: \(rms(0.2, 0.9)), \(rms(3.1, 3.8))")
        #expect((report.lane(.audio)?.counts.dropped["label-missing"] ?? 0) > 80, "\(String(describing: report.lane(.audio)?.counts))")
    }

    /// What a chain withholds while finishing is counted, not lost silently.
    @Test func chainCountsWhatItWithholdsAtTheEnd() throws {
        final class Holder: FrameProcessor, @unchecked Sendable {
            var held: [LaneFrame] = []
            func process(_ f: LaneFrame) throws -> ProcessResult { held.append(f); return .emit([]) }
            func finish() throws -> [LaneFrame] { held }
        }
        final class Refuser: FrameProcessor, @unchecked Sendable {
            func process(_ f: LaneFrame) throws -> ProcessResult { f.synthetic ? .withhold(reason: "refused") : .emit([f]) }
            func finish() throws -> [LaneFrame] { [] }
        }
        let chain = ProcessorChain([Holder(), Refuser()])
        for i in 0..<6 {
            let frame = try Frame.audio(samples: 1024, format: AV_SAMPLE_FMT_FLTP, channels: 1, sampleRate: 48000)
            _ = try chain.process(LaneFrame(frame: frame, mediaTime: Double(i), synthetic: i % 2 == 0, trace: FrameTrace(sequence: Int64(i), lane: .audio)))
        }
        let out = try chain.finish()
        #expect(out.count == 3 && out.allSatisfy { !$0.synthetic })
        #expect(chain.withheldAtFinish == ["refused", "refused", "refused"])
    }

    /// A run that fails after its output is complete (here: the metrics report cannot be
    /// written) leaves no output behind: the output is renamed into place last.
    @Test(.timeLimit(.minutes(2)))
    func aFailureAfterTheTrailerLeavesNoOutput() async throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-rename-last")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 1)
        var job = LabelJob(input: dir + "/in.mp4", output: dir + "/out.mp4")
        job.metricsJSONPath = dir + "/no-such-folder/metrics.json"
        await #expect(throws: LabelcastError.self) { _ = try await LabelRunner(job: job).run() }
        #expect(TestSupport.files(in: dir) == ["in.mp4"], "left behind: \(TestSupport.files(in: dir))")
        // And the CLI's sidecar: a folder where the file should be.
        try FileManager.default.createDirectory(atPath: dir + "/side.json", withIntermediateDirectories: false)
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mp4", "-o", dir + "/out2.mp4", "--segments", "0-1", "--segments-out", dir + "/side.json", "-q"])
        #expect(r.status >= 2 && r.errorLines.count == 1, "\(r.status) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out2.mp4"))
    }
}
