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
    /// The ranges, and whether they are in time order without overlaps (as every validated
    /// schedule and every change made here is): then lookups are binary searches, so a long
    /// schedule costs little per frame. A library caller's unordered list is scanned in full.
    private struct State {
        var ranges: [SyntheticRange]
        var ordered: Bool
    }
    private let state: Mutex<State>

    /// `mode` applies when `ranges` is empty: `.all` marks everything, `.none` nothing.
    /// (`.auto` is resolved by the caller from the input's metadata before this is built.)
    public init(mode: SyntheticMode = .none, ranges: [SyntheticRange] = [], source: String = "schedule") {
        if ranges.isEmpty && mode == .all {
            state = Mutex(State(ranges: [SyntheticRange(start: 0, source: "all")], ordered: true))
        } else {
            let rs = ranges.map { var r = $0; r.source = r.source ?? source; return r }
            state = Mutex(State(ranges: rs, ordered: Self.isOrdered(rs)))
        }
    }

    /// Sorted by start, each range non-empty, none overlapping the next (an open one is last).
    private static func isOrdered(_ rs: [SyntheticRange]) -> Bool {
        for (i, r) in rs.enumerated() {
            if let end = r.end, !(end > r.start) { return false }
            if i > 0 {
                guard let prevEnd = rs[i - 1].end, r.start >= prevEnd else { return false }
            }
        }
        return true
    }

    /// Ordered ranges only: the index of the last range starting at or before `t`.
    private static func lastStarting(atOrBefore t: Double, in rs: [SyntheticRange]) -> Int? {
        var lo = 0, hi = rs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if rs[mid].start <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 ? lo - 1 : nil
    }

    public func isSynthetic(at t: Double) -> Bool {
        range(at: t) != nil
    }

    /// The range in force at `t`, if any (with its source).
    public func range(at t: Double) -> SyntheticRange? {
        state.withLock { s in
            guard s.ordered else { return s.ranges.first { $0.contains(t) } }
            guard let i = Self.lastStarting(atOrBefore: t, in: s.ranges), s.ranges[i].contains(t) else { return nil }
            return s.ranges[i]
        }
    }

    /// The ranges in force, in time order.
    public var ranges: [SyntheticRange] { state.withLock { $0.ranges } }

    /// The next media time after `t` where the answer changes, or nil if it never does.
    /// Lanes use it to split audio chunks exactly at a boundary.
    public func nextBoundary(after t: Double) -> Double? {
        state.withLock { s in
            let rs = s.ranges
            if s.ordered {
                // Boundaries run start, end, start, end… in time order.
                let i = Self.lastStarting(atOrBefore: t, in: rs)
                if let i, let end = rs[i].end, end > t { return end }
                let next = (i ?? -1) + 1
                return next < rs.count ? rs[next].start : nil
            }
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
        state.withLock { s in
            defer { s.ordered = Self.isOrdered(s.ranges) }
            let current = s.ranges.firstIndex { $0.contains(t) }
            if on {
                if let i = current {
                    // Already synthetic: the range in force now runs until switched off.
                    guard s.ranges[i].end != nil else { return false }
                    s.ranges[i].end = nil
                    s.ranges.removeSubrange((i + 1)...)
                } else {
                    s.ranges.removeAll { $0.start >= t }
                    s.ranges.append(SyntheticRange(start: t, end: nil, source: source))
                }
                return true
            } else {
                guard let i = current else { return false }
                if s.ranges[i].start >= t { s.ranges.remove(at: i) } else { s.ranges[i].end = t }
                return true
            }
        }
    }

    /// Adds a scheduled range (control API). It must not overlap a range in force.
    public func add(_ range: SyntheticRange) throws {
        try state.withLock { s in
            var all = s.ranges + [range]
            all.sort { $0.start < $1.start }
            try SegmentSchedule.validate(all, source: "segments")
            s.ranges = all
            s.ordered = Self.isOrdered(all)
        }
    }
}
