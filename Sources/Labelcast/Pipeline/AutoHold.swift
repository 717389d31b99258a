import Foundation
import Synchronization

/// `--auto-hold S`: "stop, label, then continue" for `--synthetic auto`. Every processed lane
/// holds its decoded frames (`HoldStage`) until every lane has seen S seconds of media beyond
/// them, so the input-mark detectors (which run as frames enter the hold) have read what
/// follows a frame before that frame's synthetic decision is taken, as it leaves the hold.
/// A mark found while its first frames are still held is switched on from the mark's start
/// (the range start the detector reports), not from the next safe instant.
///
/// This is the markings' `SwitchClock`: a switch's instant is after the newest frame *released*
/// by any hold (not after the newest demuxed packet), and releasing takes the same lock, so a
/// frame leaves either wholly before a switch or wholly after it. The gate before the encoder
/// asks the Timeline again and still withholds any synthetic frame without its layers.
///
/// Memory: S seconds of decoded frames per lane, plus `skewAllowance` while another lane lags
/// (1080p30 4:2:0 8-bit: 3.1 MB a picture, 93 MB a second: S = 10 is about 1 GB). Thread-safe
/// (the lanes' hold queues and the marking watch).
public final class AutoHold: SwitchClock, @unchecked Sendable {
    /// The longest hold `--auto-hold` accepts (seconds).
    public static let maximum = 10.0
    /// Seconds a lane may run ahead of a lagging one before it releases on its own progress
    /// (a stalled or sparse stream must not hold the others, nor their memory, without bound).
    static let skewAllowance = 1.0

    let seconds: Double
    private let timeline: SyntheticTimeline

    private struct State {
        /// Per held lane: media time just past the newest frame that entered its hold.
        var progress: [Lane: Double] = [:]
        var ended: Set<Lane> = []
        /// Newest media time a hold released (video: the picture's time; audio: the chunk's end).
        var released: Double?
        var forced = 0
    }
    private let state = Mutex(State())

    init(seconds: Double, timeline: SyntheticTimeline) {
        self.seconds = seconds
        self.timeline = timeline
    }

    /// A lane that holds: it counts in the horizon from now on (before the demuxer starts).
    func register(_ lane: Lane) {
        state.withLock { $0.progress[lane] = $0.progress[lane] ?? -.infinity }
    }

    /// A frame reaching `end` of media time entered `lane`'s hold.
    func advance(_ lane: Lane, to end: Double) {
        state.withLock { s in s.progress[lane] = max(s.progress[lane] ?? -.infinity, end) }
    }

    /// The lane ended: it no longer holds the others back.
    func end(_ lane: Lane) {
        state.withLock { s in _ = s.ended.insert(lane) }
    }

    /// Whether a frame at `mediaTime` in `lane` may leave: every running lane has seen S seconds
    /// beyond it, or this lane has seen S + `skewAllowance` (counted in `forcedReleases`).
    func mayRelease(_ lane: Lane, at mediaTime: Double) -> Bool {
        state.withLock { s in
            let own = s.progress[lane] ?? -.infinity
            let horizon = s.progress.filter { !s.ended.contains($0.key) }.map(\.value).min() ?? own
            if horizon >= mediaTime + seconds { return true }
            if own >= mediaTime + seconds + Self.skewAllowance { s.forced += 1; return true }
            return false
        }
    }

    /// Frames released on their own lane's progress because another lane lagged.
    var forcedReleases: Int { state.withLock { $0.forced } }

    /// The frame as it leaves the hold, with the Timeline's answer taken now (under the switch
    /// lock, so no marking switch can fall inside or before a frame already released).
    func release(_ lf: LaneFrame, end: Double) -> LaneFrame {
        state.withLock { s -> LaneFrame in
            s.released = max(s.released ?? -.infinity, end)
            // As the decode and resample stages ask it (audio: the first sample); the watermark
            // splits a chunk at a boundary itself, and the gate judges every sample.
            let synthetic = timeline.isSynthetic(at: lf.mediaTime)
            guard synthetic != lf.synthetic else { return lf }
            var trace = lf.trace
            trace.synthetic = synthetic
            return LaneFrame(frame: lf.frame, mediaTime: lf.mediaTime, synthetic: synthetic, trace: trace)
        }
    }

    /// `SwitchClock`: `body` gets the newest released media time, under the release lock.
    public func atSwitchInstant<T>(_ body: (Double?) throws -> T) rethrows -> T {
        try state.withLock { s in try body(s.released) }
    }
}
