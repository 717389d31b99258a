import Foundation
import Synchronization

/// The live control plane the HTTP API drives: switch synthetic on/off, add a scheduled range,
/// read the state. Attached to a run's Timeline once the input is open. Thread-safe.
public final class LiveControl: Sendable {
    private struct Attached {
        var timeline: SyntheticTimeline
        var newest: @Sendable () -> Double?
    }
    private let attached = Mutex<Attached?>(nil)
    let audit: AuditLog?

    init(audit: AuditLog?) { self.audit = audit }

    func attach(timeline: SyntheticTimeline, newestMediaTime: @escaping @Sendable () -> Double?) {
        attached.withLock { $0 = Attached(timeline: timeline, newest: newestMediaTime) }
    }

    public struct NotStarted: Error {}

    /// Where a switch made now takes effect: just past the newest demuxed packet (1 ms on), so
    /// no frame of either lane at or after it has been labeled yet.
    private func switchTime(_ a: Attached) -> Double { ((a.newest() ?? 0) + 0.001) }

    /// Current state and the schedule from now on.
    func status() throws -> [String: Any] {
        guard let a = attached.withLock({ $0 }) else { throw NotStarted() }
        // The state the next frames get (a switch just made is already in force here).
        let now = switchTime(a)
        let current = a.timeline.range(at: now)
        return [
            "synthetic": current != nil,
            "media_time": Self.round(now),
            "source": current?.source ?? NSNull(),
            "schedule": a.timeline.ranges.filter { ($0.end ?? .infinity) > now }.map(Self.json),
        ]
    }

    /// Switches at the next safe media time; returns that time and whether the state changed.
    func switchState(on: Bool, client: String) throws -> (mediaTime: Double, changed: Bool) {
        guard let a = attached.withLock({ $0 }) else { throw NotStarted() }
        let t = switchTime(a)
        let changed = a.timeline.switchState(on: on, at: t, source: "control \(client)")
        audit?.record("control", ["action": "switch", "synthetic": on, "media_time": Self.round(t), "client": client, "changed": changed])
        return (t, changed)
    }

    /// Adds a scheduled range; it must not start in the past or overlap one in force.
    func addSegment(start: Double, end: Double?, client: String) throws -> [[String: Any]] {
        guard let a = attached.withLock({ $0 }) else { throw NotStarted() }
        let now = switchTime(a)
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
    /// To the millisecond; a time too large for that (v * 1000 overflows) stays as it is, so
    /// the JSON answer and the audit record never carry an infinity (not valid JSON).
    static func round(_ v: Double) -> Double {
        let r = (v * 1000).rounded() / 1000
        return r.isFinite ? r : v
    }
}
