import Foundation

/// One lane's part of `--auto-hold` (see `AutoHold`): between decoding (audio: resampling) and
/// labeling. Each frame first goes through the lane's input-mark detector (if the lane has
/// one), then waits until `AutoHold.mayRelease`; it leaves in order, with its synthetic
/// decision taken as it leaves. The queue in front is bounded like every stage's; the hold
/// itself never blocks its producer (it keeps what it must), only its own handing on blocks
/// when labeling is behind. Own serial queue.
final class HoldStage: @unchecked Sendable {
    let lane: Lane
    let stage: Stage<StageItem<LaneFrame>>
    private let hold: AutoHold
    private let detector: (any FrameProcessor)?
    private let context: PipelineContext
    private let downstream: (StageItem<LaneFrame>) -> Void
    /// Held frames in media-time order, and each one's end (video: its time; audio: past its
    /// last sample).
    private var held: [(frame: LaneFrame, end: Double)] = []
    private var head = 0
    private var detectorFailed = false

    init(lane: Lane, hold: AutoHold, detector: (any FrameProcessor)?, context: PipelineContext, capacity: Int,
         downstream: @escaping (StageItem<LaneFrame>) -> Void) {
        self.lane = lane
        self.hold = hold
        self.detector = detector
        self.context = context
        self.downstream = downstream
        stage = Stage(name: "\(lane.rawValue).hold", capacity: capacity)
        stage.handler = { [unowned self] item in self.handle(item) }
        hold.register(lane)
    }

    private func handle(_ item: StageItem<LaneFrame>) {
        switch item {
        case .data(let lf):
            detect(lf)
            let f = lf.frame
            let end = lane.kind == .audio && f.sampleRate > 0 ? lf.mediaTime + Double(f.sampleCount) / Double(f.sampleRate) : lf.mediaTime
            // Progress counts where the next frame starts (a picture's time plus its spacing is
            // not known here; its own time is enough: the horizon is compared with frame times).
            hold.advance(lane, to: end)
            held.append((lf, end))
            releaseReady()
        case .copied(let run):
            // --copy-unlabeled does not run with a hold (the copy decides before it); should a
            // copied run come, it keeps its place after what is held.
            while head < held.count { pass() }
            downstream(.copied(run))
        case .end:
            hold.end(lane)
            if let detector { _ = try? detector.finish() }
            while head < held.count { pass() }
            held.removeAll()
            head = 0
            downstream(.end)
        }
    }

    /// The detector sees every input frame as it arrives, S seconds before it is decided.
    /// A detector that fails is logged once and left out: detection is advisory, the frame goes on.
    private func detect(_ lf: LaneFrame) {
        guard let detector, !detectorFailed else { return }
        do { _ = try detector.process(lf) } catch {
            detectorFailed = true
            context.logger.warning("\(lane.rawValue): --synthetic auto: the input mark detector failed (\(error)); marks in the input are no longer read on this lane")
        }
    }

    private func releaseReady() {
        while head < held.count, hold.mayRelease(lane, at: held[head].frame.mediaTime) { pass() }
        // Compact now and then, so the array does not keep what already left.
        if head > 256 && head * 2 > held.count {
            held.removeFirst(head)
            head = 0
        }
    }

    private func pass() {
        let (lf, end) = held[head]
        head += 1
        downstream(.data(hold.release(lf, end: end)))
    }
}
