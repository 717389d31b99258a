import Foundation
import Synchronization

/// Which parts of a stream are synthetic when no segments are given.
public enum SyntheticMode: String, Sendable, Codable, CaseIterable {
    case all, none, auto
}

/// Answers "is media time t synthetic?" for both lanes. Asked by media time (pts), never by
/// arrival time, so the video and audio of one instant agree. Thread-safe: the lanes ask from
/// their own queues while a control call may add ranges.
public final class SyntheticTimeline: Sendable {
    private struct State {
        var everything: Bool
        var ranges: [SyntheticRange]
    }
    private let state: Mutex<State>

    /// `mode` applies when `ranges` is empty: `.all` marks everything, `.none` nothing.
    /// (`.auto` is resolved by the caller from the input's metadata before this is built.)
    public init(mode: SyntheticMode = .none, ranges: [SyntheticRange] = []) {
        state = Mutex(State(everything: ranges.isEmpty && mode == .all, ranges: ranges))
    }

    public func isSynthetic(at t: Double) -> Bool {
        state.withLock { s in s.everything || s.ranges.contains { $0.contains(t) } }
    }

    /// The ranges in force (for `.all`, one range from 0 with no end).
    public var ranges: [SyntheticRange] {
        state.withLock { $0.everything ? [SyntheticRange(start: 0)] : $0.ranges }
    }

    /// The next media time after `t` where the answer changes, or nil if it never does.
    /// Lanes use it to split audio chunks exactly at a boundary.
    public func nextBoundary(after t: Double) -> Double? {
        state.withLock { s in
            if s.everything { return nil }
            var best: Double? = nil
            for r in s.ranges {
                for b in [r.start, r.end].compactMap({ $0 }) where b > t {
                    best = best.map { min($0, b) } ?? b
                }
            }
            return best
        }
    }
}
