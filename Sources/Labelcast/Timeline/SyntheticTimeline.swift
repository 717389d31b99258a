import Foundation
import Synchronization

/// Which parts of a stream are synthetic when no segments are given.
public enum SyntheticMode: String, Sendable, Codable, CaseIterable {
    case all, none, auto
}

/// Answers "is media time t synthetic?" for both lanes. Asked by media time (pts), never by
/// arrival time, so the video and audio of one instant agree. Thread-safe: the lanes ask from
/// their own queues while the control API switches the state or adds ranges.
///
/// The state is a sorted list of non-overlapping half-open ranges, each with its source. A live
/// switch at media time T rewrites the list from T on: "on" makes everything from T synthetic
/// until switched off; "off" ends any range running at T, while ranges scheduled to start later
/// stay scheduled.
public final class SyntheticTimeline: Sendable {
    private let state: Mutex<[SyntheticRange]>

    /// `mode` applies when `ranges` is empty: `.all` marks everything, `.none` nothing.
    /// (`.auto` is resolved by the caller from the input's metadata before this is built.)
    public init(mode: SyntheticMode = .none, ranges: [SyntheticRange] = [], source: String = "schedule") {
        if ranges.isEmpty && mode == .all {
            state = Mutex([SyntheticRange(start: 0, source: "all")])
        } else {
            state = Mutex(ranges.map { var r = $0; r.source = r.source ?? source; return r })
        }
    }

    public func isSynthetic(at t: Double) -> Bool {
        state.withLock { $0.contains { $0.contains(t) } }
    }

    /// The range in force at `t`, if any (with its source).
    public func range(at t: Double) -> SyntheticRange? {
        state.withLock { $0.first { $0.contains(t) } }
    }

    /// The ranges in force, in time order.
    public var ranges: [SyntheticRange] { state.withLock { $0 } }

    /// The next media time after `t` where the answer changes, or nil if it never does.
    /// Lanes use it to split audio chunks exactly at a boundary.
    public func nextBoundary(after t: Double) -> Double? {
        state.withLock { rs in
            var best: Double? = nil
            for r in rs {
                for b in [r.start, r.end].compactMap({ $0 }) where b > t {
                    best = best.map { min($0, b) } ?? b
                }
            }
            return best
        }
    }

    /// Switches the state at media time `t` (live control). Returns whether anything changed.
    @discardableResult
    public func switchState(on: Bool, at t: Double, source: String) -> Bool {
        state.withLock { rs in
            let current = rs.firstIndex { $0.contains(t) }
            if on {
                if let i = current {
                    // Already synthetic: the range in force now runs until switched off.
                    guard rs[i].end != nil else { return false }
                    rs[i].end = nil
                    rs.removeSubrange((i + 1)...)
                } else {
                    rs.removeAll { $0.start >= t }
                    rs.append(SyntheticRange(start: t, end: nil, source: source))
                }
                return true
            } else {
                guard let i = current else { return false }
                if rs[i].start >= t { rs.remove(at: i) } else { rs[i].end = t }
                return true
            }
        }
    }

    /// Adds a scheduled range (control API). It must not overlap a range in force.
    public func add(_ range: SyntheticRange) throws {
        try state.withLock { rs in
            var all = rs + [range]
            all.sort { $0.start < $1.start }
            try SegmentSchedule.validate(all, source: "segments")
            rs = all
        }
    }
}
