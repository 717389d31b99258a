import Foundation
import Synchronization

/// Where a live switch takes effect, fixed against the demuxer: the runner holds the lock the
/// demuxer takes to publish each packet's media time while `body` runs, so no packet can be
/// read between choosing the instant and applying the switch. `body` gets the media time just
/// past the newest demuxed packet (nil before the first).
public protocol SwitchClock: AnyObject, Sendable {
    func atSwitchInstant<T>(_ body: (Double?) throws -> T) rethrows -> T
}

/// The live control plane the HTTP API drives: switch synthetic on/off, add a scheduled range,
/// read the state. Attached to a run's Timeline once the input is open. Thread-safe.
public final class LiveControl: Sendable {
    private struct Attached {
        var timeline: SyntheticTimeline
        /// The run (held weakly: the run holds this control through its callbacks).
        weak var clock: (any SwitchClock)?
        /// A clock of the caller's own (`attach(timeline:newestMediaTime:)`), held here.
        var owned: (any SwitchClock)?
    }
    private let attached = Mutex<Attached?>(nil)
    let audit: AuditLog?

    init(audit: AuditLog?) { self.audit = audit }

    func attach(timeline: SyntheticTimeline, clock: any SwitchClock) {
        attached.withLock { $0 = Attached(timeline: timeline, clock: clock) }
    }

    /// For callers without a demuxer (tests, the fuzz target): the newest media time from a
    /// closure, with no lock against a reader.
    func attach(timeline: SyntheticTimeline, newestMediaTime: @escaping @Sendable () -> Double?) {
        let clock = ClosureClock(newest: newestMediaTime)
        attached.withLock { $0 = Attached(timeline: timeline, clock: clock, owned: clock) }
    }

    private final class ClosureClock: SwitchClock {
        let newest: @Sendable () -> Double?
        init(newest: @escaping @Sendable () -> Double?) { self.newest = newest }
        func atSwitchInstant<T>(_ body: (Double?) throws -> T) rethrows -> T { try body(newest()) }
    }

    public struct NotStarted: Error {}

    /// Where a switch made now takes effect: at least 1 ms past the newest demuxed packet, so
    /// no frame of either lane at or after it has been decided yet, and on the microsecond grid,
    /// so the answered `media_time` is this very value (not a rounding of it): the frame whose
    /// media time is at or after it is on the answered side.
    static func switchTime(after newest: Double?) -> Double {
        (((newest ?? 0) + 0.001) * 1e6).rounded(.up) / 1e6
    }

    private func now(_ a: Attached) -> Double {
        guard let clock = a.clock else { return Self.switchTime(after: nil) }
        return clock.atSwitchInstant { Self.switchTime(after: $0) }
    }

    /// Current state and the schedule from now on.
    func status() throws -> [String: Any] {
        guard let a = attached.withLock({ $0 }) else { throw NotStarted() }
        // The state the next frames get (a switch just made is already in force here).
        let now = now(a)
        let current = a.timeline.range(at: now)
        return [
            "synthetic": current != nil,
            "media_time": Self.round(now),
            "source": current?.source ?? NSNull(),
            "schedule": a.timeline.ranges.filter { ($0.end ?? .infinity) > now }.map(Self.json),
        ]
    }

    /// Switches at the next safe media time; returns that time and whether the state changed.
    /// The instant is chosen and the switch applied under the demuxer's lock (`SwitchClock`).
    /// Scheduled ranges that start later are kept; one running at the instant is ended by
    /// "off" there, and the audit record names it (`cut`).
    func switchState(on: Bool, client: String) throws -> (mediaTime: Double, changed: Bool) {
        guard let a = attached.withLock({ $0 }) else { throw NotStarted() }
        let apply = { (newest: Double?) -> (Double, SwitchOutcome) in
            let t = Self.switchTime(after: newest)
            return (t, a.timeline.switchLive(on: on, at: t, source: "control \(client)"))
        }
        let (t, outcome) = a.clock.map { $0.atSwitchInstant(apply) } ?? apply(nil)
        var fields: [String: Any] = ["action": "switch", "synthetic": on, "media_time": Self.round(t), "client": client, "changed": outcome.changed]
        if !outcome.cut.isEmpty { fields["cut"] = outcome.cut.map(Self.json) }
        audit?.record("control", fields)
        return (t, outcome.changed)
    }

    /// Adds a scheduled range; it must not start in the past or overlap one in force.
    func addSegment(start: Double, end: Double?, client: String) throws -> [[String: Any]] {
        guard let a = attached.withLock({ $0 }) else { throw NotStarted() }
        let now = now(a)
        guard start >= now else {
            throw ScheduleError("segment starts at \(start) s, which has already been streamed (media time is now \(Self.round(now)) s)")
        }
        let range = SyntheticRange(start: start, end: end, source: "control \(client)")
        try SegmentSchedule.validate([range], source: "segment")
        try a.timeline.add(range)
        audit?.record("control", ["action": "add_segment", "start": start, "end": end ?? NSNull(), "client": client])
        return a.timeline.ranges.filter { ($0.end ?? .infinity) > now }.map(Self.json)
    }

    static func json(_ r: SyntheticRange) -> [String: Any] {
        ["start": round(r.start), "end": r.end.map(round) ?? NSNull(), "source": r.source ?? "schedule"]
    }
    /// To the microsecond (switch instants are on that grid, so they come out exact); a time
    /// too large for that (v * 1e6 overflows) stays as it is, so the JSON answer and the audit
    /// record never carry an infinity (not valid JSON).
    static func round(_ v: Double) -> Double {
        let r = (v * 1e6).rounded() / 1e6
        return r.isFinite ? r : v
    }
}
