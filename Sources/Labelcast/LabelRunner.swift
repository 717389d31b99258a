import Dispatch
import Logging
import Synchronization

/// Runs one `LabelJob`: the library entry point the CLI itself is built on.
///
///     var job = LabelJob(input: "in.mp4", output: "out.mp4")
///     job.segments = [SyntheticRange(start: 5, end: 12.5)]
///     let report = try await LabelRunner(job: job).run()
///
/// `run()` blocks a dedicated thread (not Swift's cooperative pool) while the pipeline's own
/// queues work. Cancelling the calling task, or `cancel()`, stops reading the input; the output
/// is then drained and finalized as at the end of input, and the report says `interrupted`.
public final class LabelRunner: Sendable {
    public let job: LabelJob
    private let runner: PipelineRunner

    public init(job: LabelJob, logger: Logger = Logger(label: "labelcast")) {
        self.job = job
        self.runner = PipelineRunner(job: job, logger: logger)
    }

    /// Runs the job to the end of input (or cancellation) and returns its report.
    /// Throws `LabelcastError` with a one-line, actionable message when it cannot.
    public func run() async throws -> RunReport {
        let runner = self.runner
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RunReport, any Error>) in
                Thread.detachNewThreadWithName("labelcast.run") {
                    do { continuation.resume(returning: try runner.run()) } catch { continuation.resume(throwing: error) }
                }
            }
        } onCancel: {
            runner.cancel()
        }
    }

    /// Stops reading input; the run then finalizes its output and returns normally.
    public func cancel() { runner.cancel() }

    /// Live numbers for a progress display; safe from any thread.
    public func progress() -> ProgressSnapshot { runner.progress() }

    /// Called on the mux queue with the complete trace of every frame written.
    public func onFrameWritten(_ body: @escaping @Sendable (FrameTrace) -> Void) { runner.onFrameWritten = body }
}

import Foundation

extension Thread {
    static func detachNewThreadWithName(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let t = Thread { body() }
        t.name = name
        t.stackSize = 8 << 20
        t.start()
    }
}
