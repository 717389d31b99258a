import Histogram
import Synchronization

/// A latency distribution in microseconds, as reported and exported.
public struct LatencySummary: Sendable, Codable, Equatable {
    public var count: UInt64
    public var mean: Double
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64

    init(_ h: Histogram<UInt64>) {
        count = h.totalCount
        mean = count == 0 ? 0 : h.mean
        p50 = count == 0 ? 0 : h.valueAtPercentile(50)
        p90 = count == 0 ? 0 : h.valueAtPercentile(90)
        p99 = count == 0 ? 0 : h.valueAtPercentile(99)
        p999 = count == 0 ? 0 : h.valueAtPercentile(99.9)
        max = count == 0 ? 0 : h.max
    }
}

/// The spans a frame's trace is cut into: each from one stage boundary to the next (queue wait
/// included: that is the delay a frame sees), and `total` from read to written.
public enum LatencySpan: String, Sendable, CaseIterable, Codable {
    case decode, process, encode, mux, total

    public var from: FrameTrace.Stamp {
        switch self {
        case .decode, .total: return .read
        case .process: return .decoded
        case .encode: return .processed
        case .mux: return .encoded
        }
    }
    public var to: FrameTrace.Stamp {
        switch self {
        case .decode: return .decoded
        case .process: return .processed
        case .encode: return .encoded
        case .mux, .total: return .written
        }
    }
    /// Microseconds spent in this span by a complete trace.
    public func micros(_ t: FrameTrace) -> UInt64 {
        let a = t[from], b = t[to]
        return b >= a ? (b - a) / 1000 : 0
    }
}

/// Per-lane, per-span HDR histograms (microsecond resolution, up to an hour), plus a short
/// rolling window of end-to-end latency for the live status line. Thread-safe.
final class LatencyRecorder: Sendable {
    private struct State {
        var histograms: [Lane: [LatencySpan: Histogram<UInt64>]] = [:]
        var recent: [Histogram<UInt64>] = [LatencyRecorder.makeHistogram(), LatencyRecorder.makeHistogram()]
        var recentStarted: UInt64 = 0
    }
    private let state = Mutex(State())
    /// The live window: the last 5 to 10 seconds.
    private static let windowNanos: UInt64 = 5_000_000_000

    static func makeHistogram() -> Histogram<UInt64> {
        var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        h.autoResize = true
        return h
    }

    func record(_ trace: FrameTrace) {
        guard trace.isComplete else { return }
        state.withLock { s in
            // Mutated in place through the subscripts: copying a histogram out and back would
            // copy its whole counts array on every frame (copy-on-write), which the profiler
            // showed as 1% of all CPU at 720p30.
            for span in LatencySpan.allCases {
                _ = s.histograms[trace.lane, default: [:]][span, default: Self.makeHistogram()].record(span.micros(trace))
            }
            let now = trace[.written]
            if s.recentStarted == 0 { s.recentStarted = now }
            if now - s.recentStarted > Self.windowNanos {
                s.recent[1] = s.recent[0]
                s.recent[0].reset()
                s.recentStarted = now
            }
            _ = s.recent[0].record(LatencySpan.total.micros(trace))
        }
    }

    /// lane → span → summary.
    func summaries() -> [String: [String: LatencySummary]] {
        state.withLock { s in
            var out: [String: [String: LatencySummary]] = [:]
            for (lane, spans) in s.histograms {
                out[lane.rawValue] = Dictionary(uniqueKeysWithValues: spans.map { ($0.key.rawValue, LatencySummary($0.value)) })
            }
            return out
        }
    }

    /// End-to-end p99 over the last 5-10 s, in microseconds (nil before any frame).
    func recentP99() -> UInt64? {
        state.withLock { s in
            var h = s.recent[0]
            h.add(s.recent[1])
            return h.totalCount == 0 ? nil : h.valueAtPercentile(99)
        }
    }
}
