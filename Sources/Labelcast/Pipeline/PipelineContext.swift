import Foundation
import Logging
import MediaIO
import Synchronization

/// What every stage of one run shares: the Timeline, the accounting, the first fatal error,
/// the media-time origin. Thread-safe.
final class PipelineContext: Sendable {
    let timeline: SyntheticTimeline
    let accounting = FrameAccounting()
    let logger: Logger
    /// Media time 0, in seconds of the input's clock (the first timestamp of the stream).
    let originSeconds: Double
    private let failure = Mutex<(any Error)?>(nil)
    private let sequence = Atomic<Int64>(0)
    let onFailure: @Sendable () -> Void

    init(timeline: SyntheticTimeline, logger: Logger, originSeconds: Double, onFailure: @escaping @Sendable () -> Void) {
        self.timeline = timeline
        self.logger = logger
        self.originSeconds = originSeconds
        self.onFailure = onFailure
    }

    /// Records the first fatal error and stops the input; later errors are logged only.
    func fail(_ error: any Error, stage: String) {
        let first = failure.withLock { f -> Bool in
            if f == nil { f = error; return true }
            return false
        }
        if first {
            logger.debug("fatal error in \(stage): \(error)")
            onFailure()
        } else {
            logger.debug("further error in \(stage): \(error)")
        }
    }
    var error: (any Error)? { failure.withLock { $0 } }
    var failed: Bool { failure.withLock { $0 != nil } }

    func nextSequence() -> Int64 { sequence.add(1, ordering: .relaxed).newValue }

    /// Media time just past the newest packet demuxed on a processed lane: a switch takes
    /// effect there or later, so the Timeline before it is final (copying unlabeled audio
    /// decides a packet once its neighbours' time is).
    private let head = Mutex<Double>(-.infinity)
    func noteDemuxed(until t: Double) { head.withLock { $0 = max($0, t) } }
    var demuxedUntil: Double { head.withLock { $0 } }
}
