// libFuzzer target: the control API's request bodies, decoded by the very function the routes
// call (`ControlServer.decodeBody`), then applied to a live run's control plane the way
// `PUT /synthetic` and `POST /segments` apply them (`LiveControl.switchState` / `addSegment`).
//
// The input is a session: one request body per line, each tried as both routes' body. Media
// time moves on between requests (nothing demuxed yet for the first), as it does in a live run.
// Besides "no crash", after every request:
//  - a refused body has a 400/413 status and a message; an accepted one has no surprises
//    (`addSegment` refuses only with a ScheduleError; the run is attached so never NotStarted);
//  - every response the route would send serializes as JSON (no silent "{}" fallback);
//  - the timeline's ranges still pass `SegmentSchedule.validate` (sorted, non-overlapping);
//  - the timeline agrees with a linear scan of its ranges at their boundaries.
import Foundation
@testable import Labelcast
import Synchronization

private final class Clock: Sendable {
    let newest = Mutex<Double?>(nil)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func labelcastFuzzControlBody(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let clock = Clock()
    let timeline = SyntheticTimeline(ranges: [])
    let control = LiveControl(audit: nil)
    control.attach(timeline: timeline, newestMediaTime: { clock.newest.withLock { $0 } })

    // The whole input as one body: the common case, and the 64 KiB limit when it is large.
    _ = switchBody(bytes[...], control)
    _ = segmentBody(bytes[...], control)
    checkTimeline(timeline)

    let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    guard lines.count > 1 else { return 0 }
    for (i, line) in lines.prefix(64).enumerated() {
        // 0, 2.5, 5, ... s; with the odd 0.1 so switch times are not all round numbers.
        clock.newest.withLock { $0 = Double(i) * 2.5 + (i % 3 == 2 ? 0.1 : 0) }
        _ = switchBody(line, control)
        _ = segmentBody(line, control)
        checkTimeline(timeline)
    }
    return 0
}

private func fail(_ message: String) -> Never {
    fatalError("fuzz-control-body: \(message)")
}

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fail(message()) }
}

private func checkRefusal(_ e: ControlServer.BodyError, size: Int) {
    check(!e.message.isEmpty, "empty error message")
    if size > ControlServer.maxBody {
        check(e.status == .contentTooLarge, "oversized body answered \(e.status)")
    } else {
        check(e.status == .badRequest, "bad body answered \(e.status): \(e.message)")
    }
}

/// What a response body would be: it must be a valid JSON object (`ControlServer.json` falls
/// back to "{}" if it is not, which would hide the answer from the client).
private func checkResponse(_ body: [String: Any]) {
    check(JSONSerialization.isValidJSONObject(body), "response is not valid JSON: \(body)")
    _ = ControlServer.json(.ok, body)
}

/// `PUT /synthetic`.
private func switchBody(_ body: ArraySlice<UInt8>, _ control: LiveControl) -> Bool {
    switch ControlServer.decodeBody(body, as: ControlServer.SwitchBody.self, example: #"{"synthetic": true}"#) {
    case .failure(let e):
        checkRefusal(e, size: body.count)
        return false
    case .success(let b):
        do {
            let (t, changed) = try control.switchState(on: b.synthetic, client: "fuzz")
            checkResponse(["synthetic": b.synthetic, "media_time": LiveControl.round(t), "changed": changed])
            checkResponse(try control.status())
        } catch {
            fail("switchState threw \(error)")
        }
        return true
    }
}

/// `POST /segments`.
private func segmentBody(_ body: ArraySlice<UInt8>, _ control: LiveControl) -> Bool {
    switch ControlServer.decodeBody(body, as: ControlServer.SegmentBody.self, example: #"{"start": 30, "end": 45.5}"#) {
    case .failure(let e):
        checkRefusal(e, size: body.count)
        return false
    case .success(let b):
        do {
            let schedule = try control.addSegment(start: b.start, end: b.end, client: "fuzz")
            checkResponse(["schedule": schedule])
            check(b.start.isFinite && b.start >= 0, "accepted start \(b.start)")
            if let end = b.end { check(end.isFinite && end > b.start, "accepted end \(end) after \(b.start)") }
        } catch let e as ScheduleError {
            check(!e.message.isEmpty, "empty ScheduleError")
            checkResponse(["error": e.message])
        } catch {
            fail("addSegment threw \(error)")
        }
        return true
    }
}

private func checkTimeline(_ timeline: SyntheticTimeline) {
    let ranges = timeline.ranges
    do { try SegmentSchedule.validate(ranges, source: "timeline") } catch {
        fail("timeline no longer valid: \(error)")
    }
    let bounds = ranges.flatMap { [$0.start, $0.end].compactMap { $0 } }
    let probes: [Double] = [0] + bounds.flatMap { b -> [Double] in [b, b.nextUp, b.nextDown] }
    for t in probes.prefix(300) {
        let expected = ranges.first { $0.contains(t) }
        check(timeline.range(at: t) == expected, "range(at: \(t)) disagrees with a scan of \(ranges)")
        check(timeline.nextBoundary(after: t) == bounds.filter { $0 > t }.min(), "nextBoundary(after: \(t)) disagrees with a scan of \(ranges)")
    }
}
