import Foundation
import Testing
import TestSupport

/// 24/7 operation around the labeling (issue 16): log rotation by SIGHUP, copytruncate and full
/// disks under the logs. Real runs of the CLI at real time, real signals, a real tmpfs.
@Suite(.serialized) struct OpsTests {
    typealias Running = HardeningTests.Running

    static let header = "seq,lane,media_time,synthetic,labeled,read_us,decoded_us,processed_us,encoded_us,written_us,decode_us,process_us,encode_us,mux_us,total_us,copied"

    /// The data rows of a frame log (header checked first), each split into its 16 fields.
    static func frameRows(_ path: String) throws -> [[Substring]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(!data.contains(0), "\(path) holds NUL bytes")
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.isEmpty || text.hasSuffix("\n"), "\(path) ends mid-line")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard let first = lines.first else { return [] }
        #expect(first == Substring(header), "\(path) starts with \(first.prefix(40)), not the header")
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        for row in rows {
            #expect(row.count == 16 && Int(row[0]) != nil && Double(row[2]) != nil, "\(path): a cut or bad row: \(row.joined(separator: ","))")
        }
        return rows
    }

    /// The audit log's entries; every line must be a whole JSON object.
    static func auditEvents(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.isEmpty || text.hasSuffix("\n"), "\(path) ends mid-line")
        return try text.split(separator: "\n").map { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TestFailure("\(path): not a JSON line: \(line)")
            }
            return object
        }
    }

    static func waitUntil(_ timeout: Double, _ what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw TestFailure("\(what) within \(timeout) s") }
            usleep(20_000)
        }
    }

    static func lineCount(_ path: String) -> Int {
        ((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()).reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// logrotate's default (move + create + postrotate `kill -HUP`), twice in one run: the run
    /// goes on (exit 0, not 129), new lines land in the new files, no row is lost or doubled
    /// across the three frame-log files, and the output is complete.
    @Test func sighupReopensMovedLogs() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-ops")
        let input = dir + "/in.mp4", output = dir + "/out.mp4", frames = dir + "/frames.csv", audit = dir + "/audit.jsonl"
        try TestSupport.makeMedia(input, seconds: 8, video: "testsrc2=size=320x240:rate=25")
        let run = try Running(["run", "-i", input, "-o", output, "--realtime", "--synthetic", "all",
                               "--frame-log", frames, "--audit-log", audit, "--metrics-json", dir + "/metrics.json"])
        for round in 1...2 {
            try Self.waitUntil(20, "frame log rows") { Self.lineCount(frames) > 20 }
            try FileManager.default.moveItem(atPath: frames, toPath: frames + ".\(round)")
            try FileManager.default.moveItem(atPath: audit, toPath: audit + ".\(round)")
            FileManager.default.createFile(atPath: frames, contents: nil)  // logrotate's `create`
            kill(run.process.processIdentifier, SIGHUP)
            Thread.sleep(forTimeInterval: 1.5)
            #expect(run.process.isRunning, "SIGHUP \(round) ended the run")
        }
        let r = try run.wait(timeout: 40)
        #expect(r.reason == .exit && r.status == 0, "\(r.reason) \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("SIGHUP: reopened \(frames), \(audit)"), "\(r.stderr)")
        // Rows: in order across the files, none lost or doubled, each file starting with the header.
        let parts = try [frames + ".1", frames + ".2", frames].map { try Self.frameRows($0) }
        for (i, rows) in parts.enumerated() { #expect(rows.count > 10, "frame log part \(i + 1) has \(rows.count) rows") }
        // Every packet written has its row, in one of the files, once.
        let all = parts.flatMap { $0 }.map { $0.joined(separator: ",") }
        #expect(Set(all).count == all.count, "a row written twice")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.json"))) as? [String: Any]
        let packetsOut = (report?["lanes"] as? [[String: Any]] ?? []).compactMap { ($0["counts"] as? [String: Any])?["packets_out"] as? Int }.reduce(0, +)
        #expect(all.count == packetsOut, "\(all.count) rows for \(packetsOut) packets written")
        let videoFrames = try #require(try TestSupport.probe(output).first { $0.codecType == "video" }?.frames)
        #expect(videoFrames == 200)
        #expect(parts.flatMap { $0 }.filter { $0[1] == "video" }.count == videoFrames)
        #expect(TestSupport.files(in: dir).sorted() == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2", "frames.csv", "frames.csv.1",
                                                        "frames.csv.2", "in.mp4", "metrics.json", "out.mp4"])
        // Audit: the start in the first file, each reopen recorded in the file it opened, the end in the last.
        let a1 = try Self.auditEvents(audit + ".1"), a2 = try Self.auditEvents(audit + ".2"), a3 = try Self.auditEvents(audit)
        #expect(a1.first?["event"] as? String == "run_start")
        #expect(a2.first?["event"] as? String == "logs_reopened")
        #expect(a3.first?["event"] as? String == "logs_reopened")
        #expect(a3.last?["event"] as? String == "run_end")
        #expect(a3.last?["interrupted"] as? Bool == false)
    }

    /// SIGHUP, then SIGTERM: the stop is the SIGTERM's (143), the output finalized.
    @Test func sighupThenSigterm() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-ops")
        let input = dir + "/in.mp4", output = dir + "/out.mp4", frames = dir + "/frames.csv"
        try TestSupport.makeMedia(input, seconds: 20, video: "testsrc2=size=320x240:rate=25")
        let run = try Running(["run", "-i", input, "-o", output, "--realtime", "--synthetic", "all", "--frame-log", frames])
        try Self.waitUntil(20, "frame log rows") { Self.lineCount(frames) > 20 }
        kill(run.process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 1)
        kill(run.process.processIdentifier, SIGTERM)
        let r = try run.wait(timeout: 30)
        #expect(r.reason == .exit && r.status == 143, "\(r.reason) \(r.status): \(r.stderr)")
        let videoFrames = try #require(try TestSupport.probe(output).first { $0.codecType == "video" }?.frames)
        #expect(try Self.frameRows(frames).filter { $0[1] == "video" }.count == videoFrames)
        #expect(!TestSupport.files(in: dir).contains { $0.hasSuffix(".partial") })
    }

    /// logrotate's `copytruncate` on the frame log: the file is cut to 0 under the running
    /// process. Appending, it writes at the new end: no NUL bytes, the header first, whole rows.
    @Test func copytruncateLeavesAValidFrameLog() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-ops")
        let input = dir + "/in.mp4", output = dir + "/out.mp4", frames = dir + "/frames.csv"
        try TestSupport.makeMedia(input, seconds: 6, video: "testsrc2=size=320x240:rate=25")
        let run = try Running(["run", "-i", input, "-o", output, "--realtime", "--synthetic", "all", "--frame-log", frames])
        try Self.waitUntil(20, "frame log rows") { Self.lineCount(frames) > 120 }
        try FileManager.default.copyItem(atPath: frames, toPath: frames + ".1")
        #expect(truncate(frames, 0) == 0)
        let r = try run.wait(timeout: 30)
        #expect(r.reason == .exit && r.status == 0, "\(r.reason) \(r.status): \(r.stderr)")
        let old = try Self.frameRows(frames + ".1"), new = try Self.frameRows(frames)
        #expect(old.count > 100 && new.count > 100, "\(old.count) + \(new.count) rows")
        let firstNew = try #require(new.first.flatMap { Int($0[0]) })
        #expect(firstNew >= old.count, "the new file starts at row \(firstNew)")
    }

    /// The logs on a small tmpfs that fills up mid-run and then gets room again: the run
    /// completes with a valid output; each log reports the failure once; `/healthz` is 503
    /// "degraded" while failing and 200 after; the metric counts the dropped lines; both files
    /// hold only whole lines, and the audit log says how many entries it lost. (Segments in
    /// 4-7 s give the audit log entries to lose.)
    @Test(.enabled(if: getuid() == 0)) func logsOnAFullDisk() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-ops")
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try TestSupport.makeMedia(input, seconds: 12, video: "testsrc2=size=320x240:rate=25")
        let disk = dir + "/small"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let mount = try TestSupport.run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", disk])
        try #require(mount.status == 0, "cannot mount a tmpfs: \(mount.stderr)")
        defer { _ = try? TestSupport.run("umount", [disk]) }
        let frames = disk + "/frames.csv", audit = disk + "/audit.jsonl", filler = disk + "/filler"
        let port = LiveServers.freePort()
        let segments = stride(from: 4.0, to: 7.0, by: 0.4).map { String(format: "%.1f-%.1f", $0, $0 + 0.2) }.joined(separator: ",")
        let started = Date()
        let run = try Running(["run", "-i", input, "-o", output, "--realtime", "--segments", segments,
                               "--frame-log", frames, "--audit-log", audit, "--listen", "127.0.0.1:\(port)"])
        try Self.waitUntil(20, "frame log rows") { Self.lineCount(frames) > 20 }
        let healthy = try LiveServers.http("GET", "http://127.0.0.1:\(port)/healthz")
        #expect(healthy.status == 200, "\(healthy)")
        // Fill the disk (dd stops at ENOSPC). tmpfs hands out whole pages: the audit log's last
        // page still has room, taken here by a whole JSON line of ours (another writer of the
        // same O_APPEND file), so that the run's next entry needs a page the disk does not have.
        _ = try TestSupport.run("dd", ["if=/dev/zero", "of=" + filler, "bs=4k"])
        let size = (try FileManager.default.attributesOfItem(atPath: audit)[.size] as? Int) ?? 0
        var slack = 4096 - size % 4096
        if slack < 40 { slack += 4096 }
        let prefix = #"{"event":"test_padding","pad":""#, suffix = "\"}\n"
        let padding = prefix + String(repeating: "x", count: slack - prefix.utf8.count - suffix.utf8.count) + suffix
        let handle = try #require(FileHandle(forWritingAtPath: audit))
        handle.seekToEndOfFile()
        try handle.write(contentsOf: Data(padding.utf8))
        try handle.close()
        try Self.waitUntil(10, "/healthz degraded") { (try? LiveServers.http("GET", "http://127.0.0.1:\(port)/healthz").status) == 503 }
        let degraded = try LiveServers.http("GET", "http://127.0.0.1:\(port)/healthz")
        #expect(degraded.body.contains(#""status":"degraded""#) && degraded.body.contains("frame log"), "\(degraded.body)")
        // Through the segments: their audit entries cannot all be written.
        Thread.sleep(forTimeInterval: max(0, 8.5 - Date().timeIntervalSince(started)))
        let metrics = try LiveServers.http("GET", "http://127.0.0.1:\(port)/metrics").body
        func counter(_ log: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(#"labelcast_log_write_errors_total{log="\#(log)"} "#) }
                .flatMap { Double($0.split(separator: " ").last!) }
        }
        let metricLines = metrics.split(separator: "\n").filter { $0.contains("log_write") }
        #expect((counter("frame") ?? 0) > 100, "\(metricLines)")
        #expect((counter("audit") ?? 0) >= 1, "\(metricLines)")
        let still = try LiveServers.http("GET", "http://127.0.0.1:\(port)/healthz")
        #expect(still.status == 503 && still.body.contains("audit log"), "\(still)")
        // Room again: writing resumes, health is back at once (the audit log has nothing to
        // write just now: its disk has room, so it no longer counts as failing).
        try FileManager.default.removeItem(atPath: filler)
        try Self.waitUntil(5, "/healthz ok again") { (try? LiveServers.http("GET", "http://127.0.0.1:\(port)/healthz").status) == 200 }
        let r = try run.wait(timeout: 40)
        #expect(r.reason == .exit && r.status == 0, "\(r.reason) \(r.status): \(r.stderr)")
        let errorLines = r.stderr.split(whereSeparator: \.isNewline).map(String.init)
        for log in ["frame", "audit"] {
            let reports = errorLines.filter { $0.contains("\(log) log '") && $0.contains("write failed") }
            #expect(reports.count == 1, "\(log): \(errorLines)")
            #expect(reports.first?.contains(" error ") == true, "not at error level (hidden by -q): \(reports)")
            #expect(errorLines.contains { $0.contains("\(log) log '") && $0.contains("writing again") }, "\(errorLines)")
        }
        let videoFrames = try #require(try TestSupport.probe(output).first { $0.codecType == "video" }?.frames)
        #expect(videoFrames == 300)
        let rows = try Self.frameRows(frames)
        let seqs = rows.compactMap { Int($0[0]) }
        #expect(seqs.max() ?? 0 > 700, "no rows after the disk had room again")
        #expect(seqs.count + 100 < (seqs.max() ?? 0), "rows were not dropped: the disk never filled")
        #expect(rows.last.map { Double($0[2]) ?? 0 } ?? 0 > 11, "the frame log does not reach the end of the run")
        let events = try Self.auditEvents(audit)
        #expect(events.first?["event"] as? String == "run_start")
        let resumed = try #require(events.first { $0["event"] as? String == "log_resumed" })
        #expect((resumed["lines_dropped"] as? Int ?? 0) >= 1, "\(resumed)")
        // The note of the gap follows the entry that ended it (a segment's end or the run's).
        let resumedAt = try #require(events.firstIndex { $0["event"] as? String == "log_resumed" })
        #expect(resumedAt > 1 && events[resumedAt - 1]["event"] as? String != "test_padding")
        #expect(events.suffix(2).contains { $0["event"] as? String == "run_end" }, "\(events.suffix(2))")
    }
}
