import Foundation

/// Draws a `LatencyReport` as a self-contained SVG: latency over time per stage (from a frame
/// log) and the latency distribution as a log-scale percentile plot. No other tools needed.
public enum LatencyPlot {
    static let colors = ["decode": "#1f77b4", "process": "#2ca02c", "encode": "#ff7f0e", "mux": "#9467bd", "total": "#d62728"]

    public static func svg(_ report: LatencyReport) -> String {
        let width = 960.0, panelHeight = 320.0, left = 70.0, right = 180.0, top = 64.0
        let lanes = report.summaries.keys.sorted()
        var out: [String] = []
        var y0 = top
        let panels = (report.series.isEmpty ? 0 : lanes.count) + 1
        let height = top + Double(panels) * (panelHeight + 60) + 20
        out.append(##"<?xml version="1.0" encoding="UTF-8"?>"##)
        out.append(##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" viewBox="0 0 \##(Int(width)) \##(Int(height))" font-family="sans-serif" font-size="12">"##)
        out.append(##"<rect width="100%" height="100%" fill="white"/>"##)
        out.append(##"<text x="\##(left)" y="22" font-size="15" font-weight="bold">labelcast latency — \##(escape(report.source))</text>"##)

        // Latency over time, one panel per lane.
        for lane in lanes where !report.series.isEmpty {
            let series = report.series.filter { $0.lane == lane }
            let maxT = series.flatMap { $0.points.map(\.0) }.max() ?? 1
            let maxV = Double(series.flatMap { $0.points.map(\.1) }.max() ?? 1) / 1000
            let yMax = niceCeiling(max(maxV, 0.001))
            let w = width - left - right, h = panelHeight
            out.append(##"<g id="over-time-\##(escape(lane))">"##)
            out.append(##"<text x="\##(left)" y="\##(y0 - 8)" font-weight="bold">\##(escape(lane)): latency over time (ms)</text>"##)
            out += axes(x: left, y: y0, w: w, h: h, xLabel: "seconds since start", xMax: maxT, yMax: yMax, logX: false)
            for (i, s) in series.enumerated() {
                let step = max(1, s.points.count / 2000)
                let pts = stride(from: 0, to: s.points.count, by: step).map { s.points[$0] }
                let path = pts.map { p in
                    String(format: "%.1f,%.1f", left + p.0 / max(maxT, 1e-9) * w, y0 + h - min(1, Double(p.1) / 1000 / yMax) * h)
                }.joined(separator: " ")
                let color = colors[s.span] ?? "#333"
                out.append(##"<polyline class="series" data-lane="\##(escape(lane))" data-span="\##(escape(s.span))" fill="none" stroke="\##(color)" stroke-width="1" points="\##(path)"/>"##)
                out.append(legend(x: left + w + 15, y: y0 + 14 + Double(i) * 18, color: color, text: s.span))
            }
            out.append("</g>")
            y0 += panelHeight + 60
        }

        // Distribution: percentile on a log scale of 1/(1-p), up to 99.99%.
        let w = width - left - right, h = panelHeight
        let maxV = Double(report.summaries.values.flatMap { $0.values.map(\.max) }.max() ?? 1) / 1000
        let yMax = niceCeiling(max(maxV, 0.001))
        out.append(##"<g id="distribution">"##)
        out.append(##"<text x="\##(left)" y="\##(y0 - 8)" font-weight="bold">latency distribution by percentile (ms), end to end and per span</text>"##)
        out += axes(x: left, y: y0, w: w, h: h, xLabel: "percentile", xMax: 4, yMax: yMax, logX: true)
        var legendRow = 0
        for lane in lanes {
            for span in LatencySpan.allCases.map(\.rawValue) {
                guard let s = report.summaries[lane]?[span] else { continue }
                let points: [(Double, UInt64)] = [(50, s.p50), (90, s.p90), (99, s.p99), (99.9, s.p999), (99.99, s.max)]
                let path = points.map { p in
                    String(format: "%.1f,%.1f", left + log10(100 / (100 - p.0)) / 4 * w, y0 + h - min(1, Double(p.1) / 1000 / yMax) * h)
                }.joined(separator: " ")
                let color = colors[span] ?? "#333"
                let dash = lane == "audio" ? ##" stroke-dasharray="5,3""## : ""
                out.append(##"<polyline class="percentiles" data-lane="\##(escape(lane))" data-span="\##(escape(span))" fill="none" stroke="\##(color)" stroke-width="1.5"\##(dash) points="\##(path)"/>"##)
                out.append(legend(x: left + w + 15, y: y0 + 14 + Double(legendRow) * 18, color: color, text: "\(lane) \(span)", dashed: lane == "audio"))
                legendRow += 1
            }
        }
        out.append("</g>")
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    private static func axes(x: Double, y: Double, w: Double, h: Double, xLabel: String, xMax: Double, yMax: Double, logX: Bool) -> [String] {
        var out = [##"<rect x="\##(x)" y="\##(y)" width="\##(w)" height="\##(h)" fill="none" stroke="#999"/>"##]
        for i in 0...4 {
            let v = yMax * Double(i) / 4
            let yy = y + h - h * Double(i) / 4
            out.append(##"<line x1="\##(x)" y1="\##(yy)" x2="\##(x + w)" y2="\##(yy)" stroke="#eee"/>"##)
            out.append(##"<text x="\##(x - 6)" y="\##(yy + 4)" text-anchor="end">\##(format(v))</text>"##)
        }
        if logX {
            for (i, label) in ["0", "90", "99", "99.9", "99.99"].enumerated() {
                let xx = x + w * Double(i) / 4
                out.append(##"<line x1="\##(xx)" y1="\##(y)" x2="\##(xx)" y2="\##(y + h)" stroke="#eee"/>"##)
                out.append(##"<text x="\##(xx)" y="\##(y + h + 16)" text-anchor="middle">\##(label)%</text>"##)
            }
        } else {
            for i in 0...5 {
                let xx = x + w * Double(i) / 5
                out.append(##"<text x="\##(xx)" y="\##(y + h + 16)" text-anchor="middle">\##(format(xMax * Double(i) / 5))</text>"##)
            }
        }
        out.append(##"<text x="\##(x + w / 2)" y="\##(y + h + 34)" text-anchor="middle">\##(escape(xLabel))</text>"##)
        return out
    }

    private static func legend(x: Double, y: Double, color: String, text: String, dashed: Bool = false) -> String {
        ##"<g class="legend"><line x1="\##(x)" y1="\##(y - 4)" x2="\##(x + 18)" y2="\##(y - 4)" stroke="\##(color)" stroke-width="2"\##(dashed ? #" stroke-dasharray="5,3""# : "")/><text x="\##(x + 24)" y="\##(y)">\##(escape(text))</text></g>"##
    }

    static func niceCeiling(_ v: Double) -> Double {
        let exp = pow(10, floor(log10(v)))
        for m in [1.0, 2, 2.5, 5, 10] where m * exp >= v { return m * exp }
        return 10 * exp
    }
    static func format(_ v: Double) -> String { v >= 10 ? String(format: "%.0f", v) : (v >= 1 ? String(format: "%.1f", v) : String(format: "%.2f", v)) }
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
