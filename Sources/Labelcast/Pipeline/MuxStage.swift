import Foundation
import MediaIO

/// An encoded packet for the muxer: which output stream, in which time base, and the trace
/// of the frame it carries.
struct EncodedPacket: @unchecked Sendable {
    let packet: Packet
    let streamIndex: Int
    let timeBase: Rational
    let lane: Lane
    var trace: FrameTrace?
}

enum MuxItem: Sendable {
    case packet(EncodedPacket)
    case end(Lane)
}

/// The last stage: interleaves both lanes' packets by DTS into the output and, when every lane
/// has ended, hands over to the runner to write the trailer. Runs on its own serial queue.
final class MuxStage: @unchecked Sendable {
    let stage: Stage<MuxItem>
    /// The output; replaced when a live output is reopened. Mux queue only (and the runner
    /// after the last lane ended).
    private(set) var muxer: Muxer
    /// For network outputs: builds the output anew (same streams, header written) after it dropped.
    var reopen: (() throws -> Muxer)?
    var onEvent: (@Sendable (String, [String: String]) -> Void)?
    /// Told why the output is down (for `/healthz`), when it goes down.
    var onDown: (@Sendable (String) -> Void)?
    /// The run's retry policy (`RetryPolicy`); the current outage while the output is down.
    var policy = RetryPolicy(limit: 0)
    private var outage: Outage?
    private var downReason = ""
    private var down = false
    private var nextAttempt = Date.distantPast
    private var waitingForKeyframe = false
    let hasVideo: Bool
    let context: PipelineContext
    private var openLanes: Set<Lane>
    private let allEnded: @Sendable () -> Void
    /// Latest end time written, per lane (seconds of output time). Mux queue only.
    private(set) var writtenSeconds: [Lane: Double] = [:]
    /// Called on the mux queue with each written frame's complete trace.
    var onWritten: (@Sendable (FrameTrace) -> Void)?

    init(muxer: Muxer, lanes: Set<Lane>, context: PipelineContext, allEnded: @escaping @Sendable () -> Void) {
        self.muxer = muxer
        self.openLanes = lanes
        self.hasVideo = lanes.contains { $0.kind == .video }
        self.context = context
        self.allEnded = allEnded
        stage = Stage(name: "mux", capacity: 64)
        stage.handler = { [unowned self] item in self.handle(item) }
    }

    private func handle(_ item: MuxItem) {
        switch item {
        case .packet(let p):
            guard !context.failed else { return }
            let end = Double(p.packet.pts + max(p.packet.duration, 0)) * p.timeBase.double
            if down && !tryReopen() { return drop(p, reason: "output-down") }
            if waitingForKeyframe {
                // A reopened output starts on a keyframe, so its first picture decodes.
                guard p.lane.kind == .video && p.packet.isKeyframe else { return drop(p, reason: "output-resync") }
                waitingForKeyframe = false
            }
            do {
                try muxer.write(p.packet, stream: p.streamIndex, timeBase: p.timeBase)
                context.accounting.update(p.lane) { $0.packetsOut += 1 }
                writtenSeconds[p.lane] = max(writtenSeconds[p.lane] ?? 0, end)
                if var t = p.trace {
                    t.stamp(.written)
                    onWritten?(t)
                }
            } catch {
                guard reopen != nil, !context.failed else { return context.fail(error, stage: "mux") }
                // A live output dropped: keep the pipeline running, drop packets while it is
                // down, and reopen it under the run's retry policy.
                let reason = (error as? MediaError)?.message ?? "\(error)"
                context.logger.warning("output lost (\(reason)); reconnecting to \(muxer.displayName): \(policy.describe)")
                onEvent?("output_lost", ["reason": reason])
                onDown?("output \(muxer.displayName) lost (\(reason)), reconnecting")
                muxer.abort()
                startDown(reason: reason)
                drop(p, reason: "output-down")
            }
        case .end(let lane):
            openLanes.remove(lane)
            if openLanes.isEmpty {
                if down { _ = tryReopen() }
                allEnded()
            }
        }
    }

    /// A live output that could not be opened at the start: the run goes on as if it had just
    /// dropped (packets dropped as `output-down`, reopened with the same backoff). Before any
    /// packet arrives.
    func startDown(reason: String) {
        down = true
        downReason = reason
        outage = Outage(policy: policy)
        nextAttempt = Date()
    }

    /// Whether the output is back. Attempts at most once per backoff interval, so packets keep
    /// flowing (and being counted as dropped) while the far end is away.
    private func tryReopen() -> Bool {
        guard let reopen, Date() >= nextAttempt, !context.failed else { return false }
        do {
            muxer = try reopen()
            down = false
            outage = nil
            waitingForKeyframe = hasVideo
            context.logger.notice("output reconnected to \(muxer.displayName)")
            onEvent?("output_reconnected", [:])
            return true
        } catch {
            context.logger.debug("output reconnect failed: \(error)")
            if let e = error as? MediaError { downReason = e.message }
            guard let pause = outage?.failed() else {
                // --reconnect-timeout passed: the run ends (exit 2) with one line.
                onEvent?("output_gave_up", ["reason": downReason])
                if let outage { context.fail(outage.gaveUp("output '\(muxer.displayName)'", reason: downReason), stage: "mux") }
                return false
            }
            nextAttempt = Date().addingTimeInterval(pause)
            return false
        }
    }

    private func drop(_ p: EncodedPacket, reason: String) {
        context.accounting.update(p.lane) { $0.packetsDropped[reason, default: 0] += 1 }
    }
}
