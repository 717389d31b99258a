import Foundation
import Labelcast
import Testing
import TestSupport

/// The in-process API a Swift generation tool uses.
@Suite struct LibraryAPITests {
    @Test func runReturnsTheReport() async throws {
        let dir = try TestSupport.temporaryDirectory()
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 2, video: "testsrc2=size=320x240:rate=25")
        var job = LabelJob(input: dir + "/in.mp4", output: dir + "/out.mkv")
        job.segments = [SyntheticRange(start: 0.5, end: 1)]
        let report = try await LabelRunner(job: job).run()
        let video = try #require(report.lane(.video))
        #expect(video.counts.framesIn == 50)
        #expect(video.counts.balanced)
        #expect(report.lane(.audio)?.counts.balanced == true)
        #expect(report.syntheticRanges == [SyntheticRange(start: 0.5, end: 1)])
        #expect(!report.interrupted)
        #expect(abs(report.mediaSeconds - 2) < 0.1)
        #expect(try TestSupport.probe(dir + "/out.mkv").first { $0.codecType == "video" }?.frames == 50)
    }

    @Test func cancellingFinalizesTheOutput() async throws {
        let dir = try TestSupport.temporaryDirectory()
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 30, video: "testsrc2=size=320x240:rate=25")
        var job = LabelJob(input: dir + "/in.mp4", output: dir + "/out.mp4")
        job.realtime = true
        let runner = LabelRunner(job: job)
        let task = Task { try await runner.run() }
        // Cancel once the run is well under way (polling its live progress), whatever the load.
        let deadline = Date().addingTimeInterval(25)
        while (runner.progress().counts[.video]?.framesOut ?? 0) < 20 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        task.cancel()
        let report = try await task.value
        #expect(report.interrupted)
        let frames = try #require(try TestSupport.probe(dir + "/out.mp4").first { $0.codecType == "video" }?.frames)
        #expect(frames > 10 && frames < 750)
        #expect(report.lane(.video)?.counts.framesOut == frames)
    }

    /// A finished run lets go of all it opened, so a tool can run job after job in one process.
    /// (Closures that captured the pipeline once kept every run alive, its input still open.)
    @Test func finishedRunClosesItsInput() async throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 1, video: "testsrc2=size=320x240:rate=25")
        func openCount() -> Int {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            return fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)) == input }.count
        }
        do {
            let runner = LabelRunner(job: LabelJob(input: input, output: dir + "/out.mp4"))
            _ = try await runner.run()
        }
        // The run's last queue blocks may still be finishing: give them a moment.
        let deadline = Date().addingTimeInterval(5)
        while openCount() > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(openCount() == 0, "the input is still open after the run")
    }

    @Test func errorsAreOneLine() async throws {
        let job = LabelJob(input: "/nonexistent.mp4", output: "/tmp/never.mp4")
        do { _ = try await LabelRunner(job: job).run(); Issue.record("ran") } catch let e as LabelcastError {
            #expect(e.message.contains("does not exist"))
            #expect(!e.message.contains("\n"))
        }
    }
}
