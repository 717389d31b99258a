// libFuzzer target: the synthetic-schedule parsers (`--segments` list syntax and the JSON of
// `--segments-file`), their validation, and the timeline built from what they accept.
//
// Every input goes to both parsers. Besides "no crash", an accepted schedule must:
//  - pass `SegmentSchedule.validate` again, and be finite, non-negative, sorted, non-overlapping;
//  - print (its `description` is in every error message and the audit log);
//  - survive a JSON round trip through `parse(json:)` unchanged;
//  - give, in a `SyntheticTimeline`, the same `range(at:)` / `nextBoundary(after:)` answers as
//    a plain linear scan of the ranges (the timeline answers ordered schedules by binary search).
import Foundation
import Labelcast

@_cdecl("LLVMFuzzerTestOneInput")
public func labelcastFuzzSegmentSchedule(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []

    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let ranges = try SegmentSchedule.parse(list: text)
        checkAccepted(ranges, from: "list")
    } catch let e as ScheduleError {
        check(!e.message.isEmpty, "empty error message for list \(text.debugDescription)")
    } catch {
        fail("parse(list:) threw a non-ScheduleError: \(error)")
    }

    do {
        let ranges = try SegmentSchedule.parse(json: Data(bytes))
        checkAccepted(ranges, from: "json")
    } catch let e as ScheduleError {
        check(!e.message.isEmpty, "empty error message for JSON")
    } catch {
        fail("parse(json:) threw a non-ScheduleError: \(error)")
    }
    return 0
}

private func fail(_ message: String) -> Never {
    fatalError("fuzz-segment-schedule: \(message)")
}

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fail(message()) }
}

private struct ScheduleFile: Encodable {
    struct Entry: Encodable { var start: Double; var end: Double? }
    var segments: [Entry]
}

private func checkAccepted(_ ranges: [SyntheticRange], from: String) {
    check(!ranges.isEmpty || from == "json", "list parser accepted an empty schedule")
    do { try SegmentSchedule.validate(ranges, source: "recheck") } catch {
        fail("\(from): accepted schedule fails validation: \(error)")
    }
    for (i, r) in ranges.enumerated() {
        check(r.start.isFinite && r.start >= 0, "\(from): bad start \(r.start)")
        if let end = r.end { check(end.isFinite && end > r.start, "\(from): bad end \(end)") }
        if i > 0 {
            let prev = ranges[i - 1]
            check(prev.end != nil && r.start >= prev.end!, "\(from): \(prev.start) and \(r.start) overlap")
        }
        check(!r.description.isEmpty, "\(from): empty description")
    }

    // JSON round trip: what a tool would write back as a --segments-file.
    let file = ScheduleFile(segments: ranges.map { .init(start: $0.start, end: $0.end) })
    do {
        let json = try JSONEncoder().encode(file)
        let again = try SegmentSchedule.parse(json: json, source: "round trip")
        check(again == ranges, "\(from): JSON round trip changed \(ranges) into \(again)")
    } catch {
        fail("\(from): JSON round trip of \(ranges) failed: \(error)")
    }

    checkTimeline(ranges)
}

/// `SyntheticTimeline` against the obvious linear answers, at every boundary, just either side
/// of it, between boundaries, and outside the schedule.
private func checkTimeline(_ ranges: [SyntheticRange]) {
    let timeline = SyntheticTimeline(ranges: ranges)
    var probes: [Double] = [-1, 0, .greatestFiniteMagnitude, .infinity]
    let bounds = ranges.flatMap { [$0.start, $0.end].compactMap { $0 } }
    for b in bounds { probes += [b, b.nextUp, b.nextDown] }
    for (a, b) in zip(bounds, bounds.dropFirst()) { probes.append(a + (b - a) / 2) }
    for t in probes.prefix(400) {
        let expected = ranges.first { $0.contains(t) }
        check(timeline.range(at: t) == expected, "range(at: \(t)) is \(String(describing: timeline.range(at: t))), expected \(String(describing: expected)) in \(ranges)")
        check(timeline.isSynthetic(at: t) == (expected != nil), "isSynthetic(at: \(t)) disagrees with range(at:)")
        let next = bounds.filter { $0 > t }.min()
        check(timeline.nextBoundary(after: t) == next, "nextBoundary(after: \(t)) is \(String(describing: timeline.nextBoundary(after: t))), expected \(String(describing: next)) in \(ranges)")
    }
}
