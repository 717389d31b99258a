import Foundation
import MediaIO
import Synchronization

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
///
/// A live output that drops (or is down at the start) never holds this queue up: reopen
/// attempts run on their own queue (`reconnecting`) under the run's retry policy — an SRT
/// caller's attempt alone can take its 3 s connect timeout — while packets keep arriving here
/// and are dropped at once, counted as `output-down` (memory stays bounded, the input keeps
/// being read at its own pace). The reopened output is taken up by the next packet: it starts
/// on a keyframe (the video encoders are asked for a fresh IDR; a copied picture waits for the
/// input's next keyframe), everything before it dropped as `output-resync`, its timestamps
/// running on from the stream's own.
final class MuxStage: @unchecked Sendable {
    let stage: Stage<MuxItem>
    /// The output; replaced when a live output is reopened. Mux queue only (and the runner
    /// after the last lane ended).
    private(set) var muxer: Muxer
    /// For network outputs: builds the output anew (same streams, header written) after it
    /// dropped, its blocking calls interrupted by the given interrupter. Called on the
    /// reconnect queue, never on the mux queue.
    var reopen: ((IOInterrupter) throws -> Muxer)?
    var onEvent: (@Sendable (String, [String: String]) -> Void)?
    /// Told why the output is down (for `/healthz`), when it goes down.
    var onDown: (@Sendable (String) -> Void)?
    /// Called on the mux queue when a reopened output is taken up: the video encoders start
    /// the new connection with an IDR. Set up before the run starts.
    private var reconnectHooks: [@Sendable () -> Void] = []
    func whenReconnected(_ hook: @escaping @Sendable () -> Void) { reconnectHooks.append(hook) }
    /// The run's retry policy (`RetryPolicy`).
    var policy = RetryPolicy(limit: 0)
    /// The output's URL (never shown: for telling an SRT caller's rejection).
    var outputURL = ""
    /// Reconnect attempts: their own serial queue, so the mux queue only ever drops or writes.
    private let reconnecting = DispatchQueue(label: "labelcast.output-reconnect", qos: .utility)
    private let attempts = DispatchGroup()
    /// A reopened output, handed from the reconnect queue to the mux queue.
    private let reopened = Mutex<Muxer?>(nil)
    /// Set at the end of the run: the attempt in flight is interrupted and the loop stops.
    private let stopAttempts = Atomic<Bool>(false)
    private var attemptInterrupter: IOInterrupter?
    private var down = false
    private var downSince = Date()
    private var waitingForKeyframe = false
    /// Per lane, the sequence of the last frame charged as not written (a frame's trace can
    /// ride on more than one encoded packet: audio re-cut into the encoder's frame size).
    private var lastCharged: [Lane: Int64] = [:]
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

    /// File runs: the lanes' packets are held here and written in DTS order across lanes, so
    /// the output's bytes interleave audio and video closely however far one lane runs ahead
    /// of the other (copied video races ahead of the audio lane; a re-encoded GOP lags
    /// behind it by seconds). FFmpeg's interleaver alone gives up after `max_interleave_delta`
    /// (0.5 s with a sparse timed-ID3 stream), and wrote audio 6-8 s ahead of video in file
    /// order. Live runs write as packets come: both lanes arrive at the input's pace and a
    /// hold would add the slower lane's delay to the faster one's latency.
    var ordersLanes = false
    /// Held packets per lane, oldest first (`ordersLanes`).
    private var held: [Lane: [EncodedPacket]] = [:]
    private var heldCount = 0
    /// At most this many packets are held: beyond, the oldest goes out (memory stays bounded
    /// when a lane stops producing without ending).
    static let heldLimit = 2048

    private func handle(_ item: MuxItem) {
        guard ordersLanes else { return handleNow(item) }
        switch item {
        case .packet(let p):
            held[p.lane, default: []].append(p)
            heldCount += 1
            writeHeld(all: false)
        case .end(let lane):
            openLanes.remove(lane)
            writeHeld(all: openLanes.isEmpty)
            openLanes.insert(lane)
            handleNow(.end(lane))
        }
    }

    /// Writes held packets in DTS order while every open audio/video lane has one waiting
    /// (sparse copied streams do not hold the others), or the hold is full; all at the end.
    private func writeHeld(all: Bool) {
        func seconds(_ p: EncodedPacket) -> Double {
            let ts = p.packet.dts != Int64.min ? p.packet.dts : p.packet.pts
            return Double(ts) * p.timeBase.double
        }
        while heldCount > 0 {
            let waiting = openLanes.contains { $0.kind.isProcessed && (held[$0]?.isEmpty ?? true) }
            guard all || !waiting || heldCount > Self.heldLimit else { return }
            // Earliest DTS first; a tie goes to the lower output stream, as FFmpeg's own
            // interleaver orders them (never to the dictionary's iteration order, which
            // changes from run to run and moved packets across fragment edges).
            var next: Lane?
            var best = (t: Double.infinity, stream: Int.max)
            for (lane, queue) in held {
                guard let first = queue.first else { continue }
                let key = (t: seconds(first), stream: first.streamIndex)
                if next == nil || key < best { next = lane; best = key }
            }
            guard let lane = next else { return }
            let p = held[lane]!.removeFirst()
            heldCount -= 1
            handleNow(.packet(p))
        }
    }

    private func handleNow(_ item: MuxItem) {
        switch item {
        case .packet(let p):
            guard !context.failed else { return }
            let end = Double(p.packet.pts + max(p.packet.duration, 0)) * p.timeBase.double
            if down {
                guard let m = reopened.withLock({ r -> Muxer? in defer { r = nil }; return r }) else { return drop(p, reason: "output-down") }
                takeUp(m)
            }
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
                // down, and reopen it off this queue under the run's retry policy.
                let reason = (error as? MediaError)?.message ?? "\(error)"
                context.logger.warning("output lost (\(reason)); reconnecting to \(muxer.displayName): \(policy.describe); frames are dropped meanwhile (output-down)")
                onEvent?("output_lost", ["reason": reason])
                onDown?("output \(muxer.displayName) lost (\(reason)), reconnecting")
                muxer.abort()
                startDown(reason: reason)
                drop(p, reason: "output-down")
            }
        case .end(let lane):
            openLanes.remove(lane)
            if openLanes.isEmpty {
                if down {
                    // The run ends while the output is away: stop trying (an attempt in flight
                    // is interrupted), and finish an output that came back meanwhile.
                    stopAttempts.store(true, ordering: .relaxed)
                    attemptInterrupter?.cancel()
                    attempts.wait()
                    if let m = reopened.withLock({ r -> Muxer? in defer { r = nil }; return r }) { takeUp(m) }
                }
                allEnded()
            }
        }
    }

    /// The output is down: dropped mid-stream, or a live output that could not be opened at
    /// the start (before any packet arrives). Packets are dropped as `output-down` while
    /// reopen attempts run on the reconnect queue under the policy's backoff.
    func startDown(reason: String) {
        down = true
        downSince = Date()
        guard reopen != nil, !stopAttempts.load(ordering: .relaxed) else { return }
        let interrupter = IOInterrupter(timeout: 5)
        attemptInterrupter = interrupter
        let policy = self.policy, context = self.context, display = muxer.displayName, url = outputURL
        attempts.enter()
        reconnecting.async { [self] in
            defer { attempts.leave() }
            guard let reopen = self.reopen else { return }
            var outage = Outage(policy: policy)
            var reason = reason
            var said: String? = nil
            // --reconnect-timeout also cuts an attempt in flight (an SRT connect takes 3 s).
            let bound = DispatchWorkItem { interrupter.cancel() }
            if let left = outage.remaining { DispatchQueue.global().asyncAfter(deadline: .now() + left + 0.05, execute: bound) }
            defer { bound.cancel() }
            while !stopAttempts.load(ordering: .relaxed) && !context.failed {
                do {
                    let m = try reopen(interrupter)
                    if stopAttempts.load(ordering: .relaxed) || context.failed { m.abort(); return }
                    reopened.withLock { $0 = m }
                    return
                } catch {
                    if stopAttempts.load(ordering: .relaxed) { return }
                    context.logger.debug("output reconnect failed: \(error)")
                    // An attempt cut at the bound keeps the reason before it.
                    if let e = error as? MediaError, !interrupter.isCancelled { reason = e.message }
                    if SRTLog.isCaller(url), let why = SRTLog.takeRejection() {
                        // Retried (the far end may be mid-rotation), said once.
                        if why != said { context.logger.warning("output \(display): \(why); still retrying") }
                        said = why
                        reason = why
                    }
                    guard let pause = outage.failed() else {
                        // --reconnect-timeout passed: the run ends (exit 2) with one line.
                        onEvent?("output_gave_up", ["reason": reason, "waited": "\(LiveControl.round(outage.elapsed))"])
                        context.fail(outage.gaveUp("output '\(display)'", reason: reason), stage: "mux")
                        return
                    }
                    let until = Date().addingTimeInterval(pause)
                    while Date() < until && !stopAttempts.load(ordering: .relaxed) && !context.failed { usleep(20_000) }
                }
            }
        }
    }

    /// Takes up a reopened output (mux queue): it starts on a keyframe.
    private func takeUp(_ m: Muxer) {
        muxer = m
        down = false
        attemptInterrupter = nil
        waitingForKeyframe = hasVideo
        for hook in reconnectHooks { hook() }
        let waited = Date().timeIntervalSince(downSince)
        context.logger.notice("output reconnected to \(muxer.displayName) after \(RetryPolicy.text(waited)) s")
        onEvent?("output_reconnected", ["waited": "\(LiveControl.round(waited))"])
    }

    /// A packet not written: counted by reason, and the frame it carries counted as dropped
    /// (out of frames out, into `dropped[reason]`), so frames in = out + dropped still holds
    /// with out meaning written. A frame's trace on several packets (audio re-cut into the
    /// encoder's frame size) is charged once.
    private func drop(_ p: EncodedPacket, reason: String) {
        let charge: Bool
        if let t = p.trace, lastCharged[p.lane] != t.sequence {
            lastCharged[p.lane] = t.sequence
            charge = true
        } else { charge = false }
        let labeled = p.trace?.labeled ?? false
        let copied = p.trace?.copied ?? false
        context.accounting.update(p.lane) { c in
            c.packetsDropped[reason, default: 0] += 1
            guard charge, p.lane.kind.isProcessed else { return }
            c.framesOut -= 1
            if labeled { c.framesLabeled -= 1 }
            if copied { c.framesCopied -= 1 }
            c.dropped[reason, default: 0] += 1
        }
    }
}
