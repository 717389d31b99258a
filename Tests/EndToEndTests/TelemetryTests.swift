import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(FoundationXML)
import FoundationXML
#endif
import Labelcast
import Testing
import TestSupport

/// Latency telemetry QA can trust: traces, frame log, metrics report, Prometheus, plots.
@Suite(.serialized) struct TelemetryTests {
    struct Row { let lane: String; let stamps: [UInt64]; let spans: [UInt64] }

    static func readFrameLog(_ path: String) throws -> (header: String, rows: [Row]) {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        let rows = try lines.dropFirst().map { line -> Row in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 16 else { throw TestFailure("bad row \(line)") }
            return Row(lane: f[1], stamps: f[5...9].map { UInt64($0)! }, spans: f[10...14].map { UInt64($0)! })
        }
        return (lines.first ?? "", rows)
    }

    static func exactPercentile(_ values: [UInt64], _ p: Double) -> UInt64 {
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }

    @Test func frameLogAndReportAgree() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.mp4", log = dir + "/frames.csv", metrics = dir + "/metrics.json"
        try TestSupport.makeMedia(input, seconds: 3, video: "testsrc2=size=320x240:rate=30")
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--segments", "1-2", "--frame-log", log, "--metrics-json", metrics])
        #expect(r.status == 0, "\(r.stderr)")
        let (header, rows) = try Self.readFrameLog(log)
        #expect(header == "seq,lane,media_time,synthetic,labeled,read_us,decoded_us,processed_us,encoded_us,written_us,decode_us,process_us,encode_us,mux_us,total_us,copied")
        // One row per frame written: video rows = frames in the file.
        let videoFrames = try #require(try TestSupport.probe(output).first { $0.codecType == "video" }?.frames)
        #expect(rows.filter { $0.lane == "video" }.count == videoFrames)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metrics))) as! [String: Any]
        #expect(report["schema"] as? String == "labelcast.metrics/1")
        let lanes = report["lanes"] as! [[String: Any]]
        for lane in lanes {
            let name = lane["lane"] as! String
            let counts = lane["counts"] as! [String: Any]
            #expect(rows.filter { $0.lane == name }.count == counts["packets_out"] as! Int, "\(name)")
            #expect(counts["frames_in"] as! Int == (counts["frames_out"] as! Int) + (counts["dropped"] as! [String: Int]).values.reduce(0, +))
        }
        // Complete, monotonic traces.
        for row in rows {
            #expect(row.stamps.allSatisfy { $0 > 0 })
            #expect(zip(row.stamps, row.stamps.dropFirst()).allSatisfy { $0 <= $1 }, "\(row.stamps)")
            #expect(row.spans[4] == row.stamps[4] - row.stamps[0] || abs(Int(row.spans[4]) - Int(row.stamps[4] - row.stamps[0])) <= 1)
        }
        // The report's percentiles are the frame log's (within the histogram's 3 significant digits).
        let latency = report["latency"] as! [String: [String: [String: Any]]]
        for lane in ["video", "audio"] {
            let totals = rows.filter { $0.lane == lane }.map { $0.spans[4] }
            let summary = try #require(latency[lane]?["total"])
            #expect(summary["count"] as? Int == totals.count)
            for (key, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)] {
                let reported = Double(summary[key] as! Int), exact = Double(Self.exactPercentile(totals, p))
                #expect(abs(reported - exact) <= max(2, exact * 0.002), "\(lane) \(key): report \(reported), frame log \(exact)")
            }
            #expect(summary["max"] as? Int == Int(totals.max()!) || abs(Double(summary["max"] as! Int) - Double(totals.max()!)) <= Double(totals.max()!) * 0.002)
        }
        // Rows say which frames were synthetic and labeled: 1 ≤ t < 2 at 30 fps is 30 frames; the
        // label's 2 s minimum keeps it to t < 3.
        let csv = try String(contentsOfFile: log, encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",") }
        #expect(csv.filter { $0[1] == "video" && $0[3] == "1" }.count == 30)
        #expect(csv.filter { $0[1] == "video" && $0[4] == "1" }.count == 60)
    }

    @Test func reportCommandPrintsTableAndDrawsSVG() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", log = dir + "/frames.csv", metrics = dir + "/metrics.json", svg = dir + "/plot.svg"
        try TestSupport.makeMedia(input, seconds: 1, video: "testsrc2=size=160x120:rate=25")
        #expect(try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mkv", "--frame-log", log, "--metrics-json", metrics]).status == 0)
        let r = try TestSupport.labelcast(["report", log, "--svg", svg])
        #expect(r.status == 0, "\(r.stderr)")
        let table = r.stdoutText
        #expect(table.contains("video  total") && table.contains("audio  total") && table.contains("p99.9"), "\(table)")
        // Well-formed XML with a time series per lane and span, and the distribution.
        final class Collector: NSObject, XMLParserDelegate, @unchecked Sendable {
            var series: [String] = []
            var percentiles: [String] = []
            func parser(_ parser: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName: String?, attributes a: [String: String] = [:]) {
                if e == "polyline", let lane = a["data-lane"], let span = a["data-span"] {
                    if a["class"] == "series" { series.append("\(lane)/\(span)") } else { percentiles.append("\(lane)/\(span)") }
                }
            }
        }
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: svg)))
        let collector = Collector()
        parser.delegate = collector
        #expect(parser.parse(), "SVG is not well-formed: \(String(describing: parser.parserError))")
        for lane in ["video", "audio"] {
            for span in ["decode", "process", "encode", "mux", "total"] {
                #expect(collector.series.contains("\(lane)/\(span)"))
                #expect(collector.percentiles.contains("\(lane)/\(span)"))
            }
        }
        // The metrics report is readable too (table only).
        let m = try TestSupport.labelcast(["report", metrics])
        #expect(m.status == 0 && m.stdoutText.contains("video  total"), "\(m.stderr)")
        // Anything else is a one-line error.
        let bad = try TestSupport.labelcast(["report", input])
        #expect(bad.status >= 2 && bad.errorLines.count == 1, "\(bad.stderr)")
    }

    @Test func prometheusEndpointServesWhileRunning() async throws {
        let dir = try TestSupport.temporaryDirectory()
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 4, video: "testsrc2=size=160x120:rate=25")
        var job = LabelJob(input: dir + "/in.mp4", output: dir + "/out.mp4")
        job.realtime = true
        job.synthetic = .all
        job.listen = ListenAddress(host: "127.0.0.1", port: 0)
        let runner = LabelRunner(job: job)
        let task = Task { try await runner.run() }
        var port: Int? = nil
        for _ in 0..<100 where port == nil { try await Task.sleep(for: .milliseconds(50)); port = runner.listeningPort }
        let p = try #require(port)
        try await Task.sleep(for: .seconds(2))
        let (metricsData, metricsResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(p)/metrics")!)
        #expect((metricsResponse as? HTTPURLResponse)?.statusCode == 200)
        let text = String(decoding: metricsData, as: UTF8.self)
        // Prometheus text format: comments or `name{labels} value`.
        let sample = try Regex(#"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? [-+0-9.eEInfa]+$"#)
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            #expect(line.wholeMatch(of: sample) != nil, "not Prometheus text: \(line)")
        }
        func value(_ name: String) -> Double? {
            text.split(whereSeparator: \.isNewline).first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        let framesOutMidRun = try #require(value(#"labelcast_frames_out_total{lane="video"}"#))
        #expect(framesOutMidRun > 10)
        #expect(text.contains(#"labelcast_latency_seconds_bucket{lane="video",span="total""#))
        let (healthData, healthResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(p)/healthz")!)
        #expect((healthResponse as? HTTPURLResponse)?.statusCode == 200)
        let health = try JSONSerialization.jsonObject(with: healthData) as? [String: Any]
        #expect(health?["status"] as? String == "ok")
        let report = try await task.value
        let final = try #require(report.lane(.video)?.counts)
        #expect(Int(framesOutMidRun) <= final.framesOut)
        #expect(final.framesLabeled == final.framesOut)
        // Bound to loopback by default.
        #expect(ListenAddress(port: 9).host == "127.0.0.1")
        #expect(try ListenAddress.parse("9090") == ListenAddress(host: "127.0.0.1", port: 9090))
        #expect(try ListenAddress.parse("0.0.0.0:80") == ListenAddress(host: "0.0.0.0", port: 80))
        #expect(try ListenAddress.parse("[::1]:8080") == ListenAddress(host: "::1", port: 8080))
        #expect(throws: LabelcastError.self) { try ListenAddress.parse("host:http") }
    }

    @Test func sigtermLeavesAValidReportAndLog() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.mp4", log = dir + "/frames.csv", metrics = dir + "/metrics.json"
        try TestSupport.makeMedia(input, seconds: 20, video: "testsrc2=size=320x240:rate=25")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.labelcastBinary)
        p.arguments = ["run", "-i", input, "-o", output, "--realtime", "--synthetic", "all", "--frame-log", log, "--metrics-json", metrics]
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 3)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 143)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metrics))) as! [String: Any]
        #expect(report["interrupted"] as? Bool == true)
        let rows = try Self.readFrameLog(log).rows
        let packetsOut = (report["lanes"] as! [[String: Any]]).map { ($0["counts"] as! [String: Any])["packets_out"] as! Int }.reduce(0, +)
        #expect(rows.count == packetsOut)
        let videoFrames = try #require(try TestSupport.probe(output).first { $0.codecType == "video" }?.frames)
        #expect(rows.filter { $0.lane == "video" }.count == videoFrames)
        #expect(videoFrames > 25)
    }
}
