import CFFmpeg
import Foundation
import MediaIO
import Synchronization

/// The start of a live run: waiting for an input that is not there yet (a server that is down,
/// an SRT listener no caller has reached), and saying loudly when a declared stream did not
/// come (`LiveProbe`).
extension PipelineRunner {
    /// The run's one retry policy (`RetryPolicy`): start-up waits, input reconnects and
    /// output reconnects all use it.
    var retryPolicy: RetryPolicy { RetryPolicy(limit: job.reconnectTimeout) }

    /// Opens the input. A live input with reconnects on that is not there yet waits for it
    /// under the reconnect's policy instead of ending the run:
    /// - one that listens (an SRT `mode=listener`, UDP/RTP, an RTMP or TCP `listen=1` server)
    ///   waits for its sender (`Demuxer(untimedOpen:)`: re-arming it every few seconds would
    ///   refuse a caller arriving in between), re-listening 0.5 s after a sender that came and
    ///   went;
    /// - one labelcast calls (RTMP, an SRT caller, RTSP, TCP) is retried with the policy's
    ///   backoff while the failure is transient (`ConnectFailure`); a permanent one (a host
    ///   that does not exist, a server that refused the stream key) ends the run at once.
    /// `/healthz` says "waiting" (503) with the reason meanwhile, the audit log records
    /// `input_waiting` (once the wait is noticeable) and `input_ready`, and `--reconnect-timeout`
    /// bounds the wait. SIGINT/SIGTERM cancel it.
    func openInputWaiting(_ open: () throws -> Demuxer) throws -> Demuxer {
        guard job.inputIsLive && job.reconnect else { return try open() }
        let display = Redaction.url(job.input)
        let listens = Self.listens(job.input)
        telemetry.setInputPhase(.waiting)
        defer { telemetry.setInputWaiting(nil) }
        var outage = Outage(policy: retryPolicy)
        // A listener is said once the wait is noticeable, not for a sender that is already there.
        let said = Atomic<Bool>(false)
        let notice = DispatchWorkItem { [logger, audit, telemetry] in
            guard listens else { return }
            said.store(true, ordering: .relaxed)
            let reason = "input \(display): no sender yet, waiting for one"
            telemetry.setInputWaiting(reason)
            logger.warning("\(reason) (Ctrl-C to stop)")
            audit?.record("input_waiting", ["input": display, "reason": "no sender yet"])
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 1, execute: notice)
        defer { notice.cancel() }
        // A listener's open is not timed: --reconnect-timeout ends it from outside.
        let gaveUp = Atomic<Bool>(false)
        let bound = DispatchWorkItem { [inputInterrupter] in
            gaveUp.store(true, ordering: .relaxed)
            inputInterrupter.cancel()
        }
        if listens, let limit = outage.remaining { DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: bound) }
        defer { bound.cancel() }
        var lastReason: String? = nil
        while true {
            do {
                let demuxer = try open()
                notice.cancel()
                bound.cancel()
                if said.load(ordering: .relaxed) {
                    logger.notice("input \(display): \(listens ? "a sender came" : "answered") after \(RetryPolicy.text(outage.elapsed)) s")
                    audit?.record("input_ready", ["attempts": outage.attempts + 1, "waited": LiveControl.round(outage.elapsed)])
                }
                telemetry.setInputPhase(.running)
                return demuxer
            } catch let e as MediaError {
                if gaveUp.load(ordering: .relaxed) {
                    audit?.record("input_gave_up", ["input": display, "reason": lastReason ?? "no sender", "waited": LiveControl.round(outage.elapsed)])
                    throw outage.gaveUp("input '\(display)'", reason: lastReason ?? "no sender")
                }
                if isCancelled { throw e }
                let reason: String
                switch ConnectFailure.classify(e, url: job.input, atStart: true, publishing: false) {
                case .permanent(let why): throw LabelcastError("input '\(display)': \(why)")
                case .transient(let why): reason = why
                }
                guard let pause = outage.failed() else {
                    audit?.record("input_gave_up", ["input": display, "reason": reason, "waited": LiveControl.round(outage.elapsed)])
                    throw outage.gaveUp("input '\(display)'", reason: reason)
                }
                if listens {
                    // The sender came and went, or sent nothing readable in time: listen again.
                    logger.debug("input attempt \(outage.attempts): \(e.message)")
                } else if reason != lastReason {
                    // One line per kind of failure, not one per attempt.
                    notice.cancel()
                    said.store(true, ordering: .relaxed)
                    telemetry.setInputWaiting("input \(display) not reachable (\(reason)), retrying")
                    logger.warning("input \(display) not reachable (\(reason)): \(retryPolicy.describe)")
                    audit?.record("input_waiting", ["input": display, "reason": reason])
                } else {
                    logger.debug("input attempt \(outage.attempts): \(e.message)")
                }
                lastReason = reason
                let until = Date().addingTimeInterval(listens ? RetryPolicy.firstDelay : pause)
                while Date() < until && !isCancelled { usleep(50_000) }
            }
        }
    }

    /// Whether a live input URL waits for its sender rather than connecting to one.
    static func listens(_ url: String) -> Bool {
        let lower = url.lowercased()
        if lower.hasPrefix("udp://") || lower.hasPrefix("rtp://") { return true }
        guard let q = lower.firstIndex(of: "?") else { return false }
        let query = lower[lower.index(after: q)...].split(separator: "&")
        return query.contains("mode=listener") || query.contains("listen=1") || query.contains("listen")
    }

    /// Reports what the live probe found: a declared stream that did not show up is a warning,
    /// an audit entry (`input_stream_missing`) and `/healthz` "degraded" (503) with "no video"
    /// (or "no audio"), never a silent audio-only run. Cleared when a later connection brings
    /// it, as long as the run has a lane for it.
    func noteProbe(_ outcome: LiveProbe.Outcome, reconnecting: Bool) {
        let display = Redaction.url(job.input)
        if outcome.waited > 0.05 {
            logger.info("input \(display): waited \(String(format: "%.1f", outcome.waited)) s for its declared streams (\(outcome.readAhead) packets read ahead)")
        }
        for kind in [StreamInfo.Kind.video, .audio] {
            let name = kind == .video ? "video" : "audio"
            if outcome.missing.contains(kind) {
                let text = "no \(name): the input declares \(name) (\(outcome.source)) but none arrived within \(String(format: "%g", job.probeTimeout)) s"
                logger.warning("input \(display): \(text)\(reconnecting ? " after the reconnect" : "; the run goes on without it (a longer --probe-timeout waits longer)")")
                audit?.record("input_stream_missing", ["stream": name, "source": outcome.source, "waited": LiveControl.round(outcome.waited),
                                                       "on": reconnecting ? "reconnect" : "start"])
                telemetry.setCondition("input-\(name)", text)
            } else if outcome.declared.contains(kind) && (!reconnecting || !laneMissing(kind)) {
                telemetry.setCondition("input-\(name)", nil)
            }
        }
    }
}

extension PipelineRunner {
    /// Writes the output's header; a network output that does not answer yet (the server is
    /// down at the start) is waited for under the reconnect's policy instead of ending the run,
    /// while the failure is transient (`ConnectFailure`; a permanent one ends the run at once).
    /// With a live input the run starts at once and the mux stage treats the output as
    /// dropped (`MuxStage.startDown`): the input keeps being read, so the stream is current
    /// when the server comes, not seconds stale. A file input is not read until the output is
    /// there. `/healthz` says "waiting" (503) with the reason until the first frame is written;
    /// the audit log records `output_waiting` (then `output_reconnected` or `output_ready`);
    /// `--reconnect-timeout` bounds the wait.
    func writeHeaderWaiting(_ muxer: Muxer, options: [String: String], mux: MuxStage) throws {
        let network = !Muxer.isFilePath(job.output) && job.output != "-"
        guard network && job.reconnect else { return try muxer.writeHeader(options: options) }
        let display = Redaction.url(job.output)
        var outage = Outage(policy: retryPolicy)
        var lastReason: String? = nil
        while true {
            do {
                try muxer.writeHeader(options: options)
                if outage.attempts > 0 {
                    logger.notice("output \(display) answered after \(outage.attempts + 1) attempt(s), \(RetryPolicy.text(outage.elapsed)) s")
                    audit?.record("output_ready", ["attempts": outage.attempts + 1, "waited": LiveControl.round(outage.elapsed)])
                }
                return
            } catch let e as MediaError where e.call == "avio_open" && !isCancelled {
                // Only a failed connection is retried: nothing of the output was opened yet.
                let reason: String
                switch ConnectFailure.classify(e, url: job.output, atStart: true, publishing: true) {
                case .permanent(let why): throw LabelcastError("output '\(display)': \(why)")
                case .transient(let why): reason = why
                }
                let pause = outage.failed()
                if reason != lastReason {
                    logger.warning("output \(display) not reachable (\(reason)): \(retryPolicy.describe)")
                    audit?.record("output_waiting", ["output": display, "reason": reason])
                    telemetry.setOutputWaiting("output \(display) not reachable (\(reason)), retrying")
                    lastReason = reason
                }
                if job.inputIsLive {
                    muxer.abort()
                    mux.startDown(reason: reason)
                    return
                }
                guard let pause else {
                    audit?.record("output_gave_up", ["output": display, "reason": reason, "waited": LiveControl.round(outage.elapsed)])
                    throw outage.gaveUp("output '\(display)'", reason: reason)
                }
                let until = Date().addingTimeInterval(pause)
                while Date() < until && !isCancelled { usleep(50_000) }
                if isCancelled { throw e }
            }
        }
    }
}
