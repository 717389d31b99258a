import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// Exports a run's numbers in Prometheus text format through swift-metrics, on a registry of
/// the run's own (so two runs in one process never mix). Latencies are recorded per frame;
/// counters and gauges are brought up to date from the accounting when scraped.
final class PrometheusExporter: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let timers: [Lane: [LatencySpan: CoreMetrics.Timer]]
    private struct Published {
        var counts: [Lane: FrameAccounting.LaneCounts] = [:]
        /// Extra counters' values at the last refresh, by name and dimensions.
        var extras: [String: Int] = [:]
    }
    private let published = Mutex(Published())

    init() {
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
            .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
        ]
        factory = f
        var t: [Lane: [LatencySpan: CoreMetrics.Timer]] = [:]
        for lane in [Lane.video, Lane.audio] {
            for span in LatencySpan.allCases {
                t[lane, default: [:]][span] = CoreMetrics.Timer(label: "labelcast_latency_seconds",
                                                                 dimensions: [("lane", lane.rawValue), ("span", span.rawValue)], factory: f)
            }
        }
        timers = t
    }

    /// A C2PA signing step's duration (`labelcast_c2pa_seconds{step}`), from any thread.
    func recordC2PA(_ step: String, nanoseconds: Int64) {
        CoreMetrics.Timer(label: "labelcast_c2pa_seconds", dimensions: [("step", step)], factory: factory).recordNanoseconds(nanoseconds)
    }

    /// Called on the mux queue for each complete trace.
    func record(_ trace: FrameTrace) {
        guard trace.isComplete, let spans = timers[trace.lane.firstOfKind] else { return }
        for (span, timer) in spans { timer.recordNanoseconds(Int64(span.micros(trace) * 1000)) }
    }

    /// Brings counters and gauges up to date (counters by their increase since the last call).
    func refresh(counts: [Lane: FrameAccounting.LaneCounts], queueDepths: [String: Int], speed: Double, mediaSeconds: Double,
                 extraCounters: [(name: String, dimensions: [(String, String)], value: Int)] = []) {
        published.withLock { p in
            for (lane, c) in counts {
                let old = p.counts[lane] ?? .init()
                let dims = [("lane", lane.rawValue)]
                bump("labelcast_frames_in_total", dims, c.framesIn - old.framesIn)
                bump("labelcast_frames_out_total", dims, c.framesOut - old.framesOut)
                bump("labelcast_frames_labeled_total", dims, c.framesLabeled - old.framesLabeled)
                bump("labelcast_packets_in_total", dims, c.packetsIn - old.packetsIn)
                bump("labelcast_packets_out_total", dims, c.packetsOut - old.packetsOut)
                bump("labelcast_decode_errors_total", dims, c.decodeErrors - old.decodeErrors)
                bump("labelcast_frames_lost_upstream_total", dims, c.lostUpstream - old.lostUpstream)
                bump("labelcast_packets_corrupt_upstream_total", dims, c.corruptUpstream - old.corruptUpstream)
                for (reason, n) in c.dropped {
                    bump("labelcast_frames_dropped_total", dims + [("reason", reason)], n - (old.dropped[reason] ?? 0))
                }
                for (reason, n) in c.packetsDropped {
                    bump("labelcast_packets_dropped_total", dims + [("reason", reason)], n - (old.packetsDropped[reason] ?? 0))
                }
                CoreMetrics.Gauge(label: "labelcast_encoder_delay_frames", dimensions: dims, factory: factory).record(c.encoderDelayFrames)
            }
            p.counts = counts
        }
        for (stage, depth) in queueDepths {
            CoreMetrics.Gauge(label: "labelcast_queue_depth", dimensions: [("stage", stage)], factory: factory).record(depth)
        }
        CoreMetrics.Gauge(label: "labelcast_speed_ratio", factory: factory).record(speed)
        CoreMetrics.Gauge(label: "labelcast_media_seconds", factory: factory).record(mediaSeconds)
    }

    /// Brings counters kept elsewhere (as running totals) up to date.
    func refresh(counters: [(name: String, dimensions: [(String, String)], value: Int)]) {
        published.withLock { p in
            for c in counters {
                let key = c.name + "|" + c.dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                bump(c.name, c.dimensions, c.value - (p.extras[key] ?? 0))
                p.extras[key] = c.value
            }
        }
    }

    private func bump(_ name: String, _ dims: [(String, String)], _ delta: Int) {
        let counter = CoreMetrics.Counter(label: name, dimensions: dims, factory: factory)
        if delta > 0 { counter.increment(by: delta) }
    }

    /// Prometheus text exposition format.
    func text() -> String { registry.emitToString() }
}
