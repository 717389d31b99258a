import Foundation
import Synchronization

/// Which parts of a stream are synthetic when no segments are given.
public enum SyntheticMode: String, Sendable, Codable, CaseIterable {
    case all, none, auto
}

/// What a live switch did: whether the answer changed from its media time on, and the
/// scheduled ranges it cut short (a switch "off" inside a scheduled range ends that range
/// there; ranges scheduled to start later stay).
public struct SwitchOutcome: Sendable, Equatable {
    public var changed: Bool
    public var cut: [SyntheticRange] = []
}

/// Answers "is media time t synthetic?" for both lanes. Asked by media time (pts), never by
/// arrival time, so the video and audio of one instant agree. Thread-safe: the lanes ask from
/// their own queues while the control API switches the state or adds ranges.
///
/// Two layers compose: the **schedule** (`--segments`, `POST /segments`, `--synthetic all`,
/// markings found in the input) and the **live state** (`PUT /synthetic`). Media time is
/// synthetic where either says so. A switch "on" at T starts a live range [T, ∞); "off" at T
/// ends the live range and any scheduled range running at T; ranges scheduled to start later
/// are never deleted by a switch, so a `PUT` cannot silently undo a `POST`.
///
/// Media time before 0 (a first frame without pts, audio that starts before the video origin)
/// is answered as media time 0: the stream's first instant, so `--synthetic all` and a
/// segment starting at 0 cover it.
public final class SyntheticTimeline: Sendable {
    private struct State {
        /// Validated, in time order, non-overlapping (a library caller's list may overlap:
        /// it is only merged into `merged`).
        var scheduled: [SyntheticRange]
        /// Live ranges in time order; only the last may be open.
        var live: [SyntheticRange] = []
        /// The union of both, sorted, overlaps merged: what every lookup searches.
        var merged: [SyntheticRange] = []

        mutating func remerge() {
            let all = (scheduled + live).sorted { $0.start < $1.start }
            var out: [SyntheticRange] = []
            for r in all {
                if var last = out.last, let lastEnd = last.end, r.start < lastEnd - SyntheticRange.tolerance {
                    last.end = r.end.map { max($0, lastEnd) }
                    out[out.count - 1] = last
                } else if let last = out.last, last.end == nil {
                    continue  // inside an open range
                } else {
                    out.append(r)
                }
            }
            merged = out
        }
    }
    private let state: Mutex<State>

    /// `mode` applies when `ranges` is empty: `.all` marks everything, `.none` nothing.
    /// (`.auto` is resolved by the caller from the input's metadata before this is built.)
    public init(mode: SyntheticMode = .none, ranges: [SyntheticRange] = [], source: String = "schedule") {
        var s: State
        if ranges.isEmpty && mode == .all {
            s = State(scheduled: [SyntheticRange(start: 0, source: "all")])
        } else {
            s = State(scheduled: ranges.map { var r = $0; r.source = r.source ?? source; return r }.sorted { $0.start < $1.start })
        }
        s.remerge()
        state = Mutex(s)
    }

    /// Index of the last range starting at or before `t` (with the boundary tolerance).
    private static func lastStarting(atOrBefore t: Double, in rs: [SyntheticRange]) -> Int? {
        var lo = 0, hi = rs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if rs[mid].start - SyntheticRange.tolerance <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 ? lo - 1 : nil
    }

    private static func inForce(_ t: Double, _ rs: [SyntheticRange]) -> Int? {
        let t = max(t, 0)
        guard let i = lastStarting(atOrBefore: t, in: rs), rs[i].contains(t) else { return nil }
        return i
    }

    public func isSynthetic(at t: Double) -> Bool {
        range(at: t) != nil
    }

    /// Whether any instant of [from, to) is synthetic (an audio chunk's samples).
    public func isSynthetic(from: Double, to: Double) -> Bool {
        if isSynthetic(at: from) { return true }
        // Not synthetic at `from`: the next boundary of the merged ranges is a start.
        guard let b = nextBoundary(after: max(from, 0)) else { return false }
        return b < to - SyntheticRange.tolerance
    }

    /// The range in force at `t`, if any (with its source; merged ranges carry the earliest's).
    public func range(at t: Double) -> SyntheticRange? {
        state.withLock { s in Self.inForce(t, s.merged).map { s.merged[$0] } }
    }

    /// The ranges in force (schedule and live state merged), in time order.
    public var ranges: [SyntheticRange] { state.withLock { $0.merged } }
    /// The schedule alone (what `POST /segments` added stays here until it has run).
    public var scheduled: [SyntheticRange] { state.withLock { $0.scheduled } }

    /// The next media time after `t` where the answer changes, or nil if it never does.
    /// Lanes use it to split audio chunks exactly at a boundary.
    public func nextBoundary(after t: Double) -> Double? {
        state.withLock { s in
            let rs = s.merged
            let i = Self.lastStarting(atOrBefore: t, in: rs)
            // With the boundary tolerance: the next instant whose answer differs from t's.
            if let i, let end = rs[i].end, end - SyntheticRange.tolerance > t { return end }
            let next = (i ?? -1) + 1
            return next < rs.count ? rs[next].start : nil
        }
    }

    /// Switches the live state at media time `t` (control API, markings found mid-stream).
    @discardableResult
    public func switchState(on: Bool, at t: Double, source: String) -> Bool {
        switchLive(on: on, at: t, source: source).changed
    }

    /// Switches the live state at `t`; says what changed and which scheduled ranges were cut.
    public func switchLive(on: Bool, at t: Double, source: String) -> SwitchOutcome {
        state.withLock { s in
            let before = s.merged
            var outcome = SwitchOutcome(changed: false)
            if on {
                if let last = s.live.last, last.end == nil { return outcome }  // already switched on
                s.live.removeAll { $0.start >= t }
                s.live.append(SyntheticRange(start: t, end: nil, source: source))
            } else {
                s.live.removeAll { $0.start >= t }
                for i in s.live.indices where s.live[i].contains(t) { s.live[i].end = t }
                for i in s.scheduled.indices.reversed() where s.scheduled[i].contains(t) {
                    outcome.cut.append(s.scheduled[i])
                    if s.scheduled[i].start >= t { s.scheduled.remove(at: i) } else { s.scheduled[i].end = t }
                }
            }
            s.remerge()
            outcome.changed = s.merged != before || s.merged.map(\.source) != before.map(\.source)
            return outcome
        }
    }

    /// Adds a scheduled range (control API, markings). It must not overlap another scheduled
    /// range; it may lie inside the live state (it then still holds after a switch "off").
    public func add(_ range: SyntheticRange) throws {
        try state.withLock { s in
            var all = s.scheduled + [range]
            all.sort { $0.start < $1.start }
            try SegmentSchedule.validate(all, source: "segments")
            s.scheduled = all
            s.remerge()
        }
    }
}
