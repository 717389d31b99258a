import Foundation
import Histogram

/// A latency report read back from a `--frame-log` CSV or a `--metrics-json` file, for
/// `labelcast report`: the percentile table, and (from a frame log) the time series to plot.
public struct LatencyReport: Sendable {
    public struct Series: Sendable {
        public var lane: String
        public var span: String
        /// (seconds since the run started, latency in microseconds), in written order.
        public var points: [(Double, UInt64)]
    }
    /// lane → span → summary (microseconds).
    public var summaries: [String: [String: LatencySummary]]
    /// Empty when read from a metrics report (it holds no per-frame data).
    public var series: [Series]
    public var source: String
    /// Frames per lane.
    public var frames: [String: Int]

    /// Reads either kind of file, telling them apart by content.
    public static func load(path: String) throws -> LatencyReport {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LabelcastError(FileManager.default.fileExists(atPath: path) ? "'\(path)' cannot be read" : "'\(path)' does not exist")
        }
        let text = String(decoding: data, as: UTF8.self)
        // Frame logs before the `copied` column (15 fields) read as well.
        if text.hasPrefix(FrameLog.header) || text.hasPrefix(FrameLog.headerBeforeCopied) { return try fromFrameLog(text, source: path) }
        if text.trimmingCharacters(in: .whitespaces).hasPrefix("{") { return try fromMetrics(data, source: path) }
        throw LabelcastError("'\(path)' is neither a labelcast frame log (CSV with header '\(FrameLog.header.prefix(30))…') nor a --metrics-json report")
    }

    static func fromFrameLog(_ text: String, source: String) throws -> LatencyReport {
        let spans = LatencySpan.allCases.map(\.rawValue)
        var histograms: [String: [String: Histogram<UInt64>]] = [:]
        var series: [String: [String: [(Double, UInt64)]]] = [:]
        var frames: [String: Int] = [:]
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() where n > 0 {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == 16 || f.count == 15, let written = UInt64(f[9]) else {
                throw LabelcastError("'\(source)' line \(n + 1): expected 16 comma-separated fields of a frame log (15 before the copied column)")
            }
            let lane = String(f[1])
            frames[lane, default: 0] += 1
            for (i, span) in spans.enumerated() {
                guard let v = UInt64(f[10 + i]) else { throw LabelcastError("'\(source)' line \(n + 1): '\(f[10 + i])' is not a number") }
                var h = histograms[lane]?[span] ?? LatencyRecorder.makeHistogram()
                _ = h.record(v)
                histograms[lane, default: [:]][span] = h
                series[lane, default: [:]][span, default: []].append((Double(written) / 1e6, v))
            }
        }
        guard !frames.isEmpty else { throw LabelcastError("'\(source)' has a header but no frames") }
        return LatencyReport(
            summaries: histograms.mapValues { $0.mapValues(LatencySummary.init) },
            series: series.flatMap { lane, bySpan in bySpan.map { Series(lane: lane, span: $0.key, points: $0.value) } }
                .sorted { ($0.lane, spans.firstIndex(of: $0.span) ?? 0) < ($1.lane, spans.firstIndex(of: $1.span) ?? 0) },
            source: source, frames: frames)
    }

    static func fromMetrics(_ data: Data, source: String) throws -> LatencyReport {
        struct Metrics: Decodable {
            let schema: String?
            let latency: [String: [String: LatencySummary]]?
        }
        let m: Metrics
        do { m = try JSONDecoder().decode(Metrics.self, from: data) } catch {
            throw LabelcastError("'\(source)' is not a labelcast metrics report: \(error.localizedDescription)")
        }
        guard m.schema?.hasPrefix("labelcast.metrics/") == true, let latency = m.latency else {
            throw LabelcastError("'\(source)' is JSON but not a labelcast --metrics-json report (no \"schema\": \"labelcast.metrics/1\")")
        }
        return LatencyReport(summaries: latency, series: [], source: source,
                             frames: latency.mapValues { Int($0["total"]?.count ?? 0) })
    }

    /// The percentile table, in milliseconds.
    public var table: String {
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        var lines = [pad("lane", 6, left: true) + " " + pad("span", 8, left: true) + " " + pad("count", 8) + " " +
                     ["mean", "p50", "p90", "p99", "p99.9", "max"].map { pad($0, 9) }.joined(separator: " ")]
        for lane in summaries.keys.sorted() {
            for span in LatencySpan.allCases.map(\.rawValue) {
                guard let s = summaries[lane]?[span] else { continue }
                func ms(_ v: Double) -> String { String(format: "%9.2f", v / 1000) }
                lines.append(pad(lane, 6, left: true) + " " + pad(span, 8, left: true) + " " + pad(String(s.count), 8) + " " +
                             [ms(s.mean), ms(Double(s.p50)), ms(Double(s.p90)), ms(Double(s.p99)), ms(Double(s.p999)), ms(Double(s.max))].joined(separator: " "))
            }
        }
        lines.append("latency in milliseconds; spans: decode = read→decoded, process = decoded→labeled, encode = labeled→encoded, mux = encoded→written, total = read→written")
        return lines.joined(separator: "\n")
    }
}
