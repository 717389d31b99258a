import Foundation
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
    private let logger: Logger
    private struct State {
        var runner: PipelineRunner?
        var cancelled = false
        var server: ControlServer?
        var telemetry: RunTelemetry?
        var audit: AuditLog?
    }
    private let state = Mutex(State())

    public init(job: LabelJob, logger: Logger = Logger(label: "labelcast")) {
        self.job = job
        self.logger = logger
    }

    /// Runs the job to the end of input (or cancellation) and returns its report.
    /// Throws `LabelcastError` with a one-line, actionable message when it cannot.
    public func run() async throws -> RunReport {
        // Before anything can print: the run's secrets are replaced wherever they appear.
        Redaction.register(url: job.input)
        Redaction.register(url: job.output)
        if let token = job.controlToken { Redaction.register(token.value) }
        // Before anything is opened or written: a bad certificate, key or container ends here.
        let signer = try job.provenance.c2pa.map { try OutputSigner(job: job, settings: $0, logger: logger) }
        let telemetry = try RunTelemetry(frameLogPath: job.frameLogPath, logger: logger)
        let runner = PipelineRunner(job: job, logger: logger, telemetry: telemetry)
        runner.outputSigner = signer
        signer?.telemetry = runner.telemetry
        // The runner owns the telemetry, and the closures below are kept by the telemetry, the
        // runner and the live control: a strong capture of the runner in them would be a cycle
        // that keeps every run (decoders, encoders, histograms) alive after it ended.
        telemetry.attach { [weak runner] in runner?.progress() }
        let alreadyCancelled = state.withLock { s -> Bool in s.runner = runner; s.telemetry = telemetry; return s.cancelled }
        if alreadyCancelled { runner.cancel() }
        let audit = try job.auditLogPath.map { try AuditLog(path: $0, logger: logger) }
        if let audit { telemetry.watch(audit.file) }
        state.withLock { $0.audit = audit }
        // The logs close when the run is done, not when this runner goes.
        defer { state.withLock { $0.audit = nil; $0.telemetry = nil } }
        runner.audit = audit
        let control = LiveControl(audit: audit)
        runner.onTimeline = { [weak runner] timeline in
            if let runner { control.attach(timeline: timeline, clock: runner) }  // held weakly there
        }
        var server: ControlServer?
        if let address = job.listen {
            let s = ControlServer(address: address, settings: job.control)
            try await s.start(telemetry: telemetry, control: control, token: job.controlToken, logger: logger)
            server = s
            state.withLock { $0.server = s }
        }
        defer { if let server { Task { await server.stop() } } }
        let result: Result<RunReport, any Error> = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<RunReport, any Error>, Never>) in
                Thread.detachNewThreadWithName("labelcast.run") {
                    do { continuation.resume(returning: .success(try runner.run())) } catch { continuation.resume(returning: .failure(error)) }
                }
            }
        } onCancel: {
            runner.cancel()
        }
        if let server { await server.stop() }
        switch result {
        case .success(let report):
            // The output is renamed into place last, after every other artefact is written:
            // a run that fails here leaves no complete-looking output.
            do {
                try writeMetrics(report)
                try runner.commitOutput()
            } catch {
                runner.discardOutput()
                throw error
            }
            return report
        case .failure(let error):
            try? writeMetrics(runner.report(error: Redaction.text("\(error)")))
            throw error
        }
    }

    private func writeMetrics(_ report: RunReport) throws {
        guard let path = job.metricsJSONPath else { return }
        do { try report.metricsJSON().write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw LabelcastError("--metrics-json '\(path)' cannot be written: \(error.localizedDescription)")
        }
    }

    /// Stops reading input; the run then finalizes its output and returns normally.
    public func cancel() {
        let runner = state.withLock { s -> PipelineRunner? in s.cancelled = true; return s.runner }
        runner?.cancel()
    }

    /// Opens `--audit-log` and `--frame-log` again, by path: what SIGHUP does, so that after
    /// logrotate moved the files away (move + create + postrotate `kill -HUP`) new lines go to
    /// the new files. Safe from any thread; before the run opened its logs it does nothing.
    /// The audit log records it (`logs_reopened`, in the new file). Returns the paths
    /// reopened; throws, with the old files kept, when one cannot be opened.
    @discardableResult
    public func reopenLogs() throws -> [String] {
        let (telemetry, audit) = state.withLock { ($0.telemetry, $0.audit) }
        var reopened: [String] = []
        var failures: [String] = []
        if let log = telemetry?.frameLog {
            do { try log.reopen(); reopened.append(log.path) } catch { failures.append("\(error)") }
        }
        if let audit {
            do { try audit.reopen(); reopened.append(audit.path) } catch { failures.append("\(error)") }
            audit.record("logs_reopened", ["reopened": reopened])
        }
        if !failures.isEmpty { throw LabelcastError(failures.joined(separator: "; ")) }
        return reopened
    }

    /// Live numbers for a progress display; safe from any thread.
    public func progress() -> ProgressSnapshot {
        state.withLock { $0.runner }?.progress() ?? ProgressSnapshot(mediaSeconds: 0, wallSeconds: 0, durationSeconds: nil, counts: [:], queueDepths: [:])
    }

    /// The port the HTTP server bound (with `--listen HOST:0`), once running.
    public var listeningPort: Int? { state.withLock { $0.server }?.port }
}

extension RunReport {
    /// The `--metrics-json` document: this report with snake_case keys and a schema tag.
    public func metricsJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let body = try encoder.encode(self)
        var object = try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
        object["schema"] = "labelcast.metrics/1"
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}

extension Thread {
    static func detachNewThreadWithName(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let t = Thread { body() }
        t.name = name
        t.stackSize = 8 << 20
        t.start()
    }
}
