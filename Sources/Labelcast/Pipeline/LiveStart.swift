import CFFmpeg
import Foundation
import MediaIO
import Synchronization

/// The start of a live run: waiting for an input that is not there yet (a server that is down,
/// an SRT listener no caller has reached), and saying loudly when a declared stream did not
/// come (`LiveProbe`).
extension PipelineRunner {
    /// Opens the input. A live input that listens (an SRT `mode=listener`, UDP/RTP, an RTMP or
    /// TCP `listen=1` server), with reconnects on, waits for its sender as long as it takes
    /// (`Demuxer(untimedOpen:)`) instead of ending the run after `--read-timeout`: `/healthz`
    /// says "waiting" (503) meanwhile, and the audit log records `input_waiting` (after 1 s
    /// without a sender) and `input_ready`. SIGINT/SIGTERM cancel the wait. An input
    /// labelcast connects to (an RTMP or SRT caller URL) that refuses at the start still ends
    /// the run at once with exit 2: at the start that is most often a wrong address, and an
    /// operator should hear of it (a reconnect later waits for ever).
    func openInputWaiting(_ open: () throws -> Demuxer) throws -> Demuxer {
        guard job.inputIsLive && job.reconnect && Self.listens(job.input) else { return try open() }
        let display = Redaction.url(job.input)
        telemetry.setInputPhase(.waiting)
        // Said once the wait is noticeable, not for a sender that is already there.
        let said = Atomic<Bool>(false)
        let notice = DispatchWorkItem { [logger, audit] in
            said.store(true, ordering: .relaxed)
            logger.warning("input \(display): no sender yet; waiting for one (Ctrl-C to stop)")
            audit?.record("input_waiting", ["input": display])
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 1, execute: notice)
        defer { notice.cancel() }
        var attempts = 0
        while true {
            attempts += 1
            do {
                let demuxer = try open()
                notice.cancel()
                if said.load(ordering: .relaxed) {
                    logger.notice("input \(display): a sender came")
                    audit?.record("input_ready", ["attempts": attempts])
                }
                telemetry.setInputPhase(.running)
                return demuxer
            } catch let e as MediaError {
                if isCancelled || !Self.worthWaiting(e) { throw e }
                // The sender came and went, or sent nothing readable in time: listen again.
                logger.debug("input attempt \(attempts): \(e.message)")
                let until = Date().addingTimeInterval(0.5)
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

    /// Whether an open failure can go away by itself (the far end not up yet), rather than
    /// being a mistake in the command (a protocol or format FFmpeg does not have, a bad option).
    static func worthWaiting(_ e: MediaError) -> Bool {
        let permanent = [lc_averror_protocol_not_found(), lc_averror_demuxer_not_found(), lc_averror_muxer_not_found(),
                         lc_averror_einval()]
        return !permanent.contains(e.code)
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
    /// down at the start) is waited for instead of ending the run, with the reconnect's
    /// backoff. With a live input the run starts at once and the mux stage treats the output
    /// as dropped (`MuxStage.startDown`): the input keeps being read, so the stream is current
    /// when the server comes, not seconds stale. A file input is not read until the output is
    /// there. `/healthz` says "waiting" (503) until the first frame is written; the audit log
    /// records `output_waiting` (then `output_reconnected` or `output_ready`).
    func writeHeaderWaiting(_ muxer: Muxer, options: [String: String], mux: MuxStage) throws {
        let network = !Muxer.isFilePath(job.output) && job.output != "-"
        guard network && job.reconnect else { return try muxer.writeHeader(options: options) }
        let display = Redaction.url(job.output)
        var attempts = 0
        var delay = 0.5
        while true {
            attempts += 1
            do {
                try muxer.writeHeader(options: options)
                if attempts > 1 {
                    logger.notice("output \(display) answered after \(attempts) attempt(s)")
                    audit?.record("output_ready", ["attempts": attempts])
                }
                return
            } catch let e as MediaError where e.call == "avio_open" && !isCancelled && Self.worthWaiting(e) {
                // Only a failed connection is retried: nothing of the output was opened yet.
                if attempts == 1 {
                    logger.warning("output \(display) is not there yet (\(e.message)): waiting, retrying with backoff (Ctrl-C to stop)")
                    audit?.record("output_waiting", ["output": display, "reason": e.message])
                    telemetry.setOutputWaiting()
                }
                if job.inputIsLive {
                    muxer.abort()
                    mux.startDown()
                    return
                }
                let until = Date().addingTimeInterval(delay)
                while Date() < until && !isCancelled { usleep(50_000) }
                if isCancelled { throw e }
                delay = min(delay * 2, 8)
            }
        }
    }
}
