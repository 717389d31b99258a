import Foundation
import Testing
import TestSupport

/// A live output that goes away mid-stream (issue 16), for real on loopback: an SRT caller
/// output whose ffmpeg listener ends and comes back 8 s later. The reconnect attempts (each
/// up to libsrt's 3 s connect timeout) must not hold the pipeline up: the input keeps being
/// read at real time, frames are dropped at the output meanwhile and counted (`output-down`)
/// so frames in = written + dropped, and the output restarts on a keyframe with labeled
/// pictures. A listener that rejects the passphrase ends the run at once (exit 2, one line),
/// and libsrt's own log lines pass through labelcast's redaction.
@Suite(.serialized) struct OutputOutageTests {
    static let passphrase = "outagePass-5k2m9x"

    /// Video packets of a recording: pts (s) and keyframe flag, in order.
    static func videoPackets(_ file: String) throws -> [(pts: Double, key: Bool)] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
                                                "-of", "csv=p=0", file])
        return r.stdoutText.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: ",")
            guard f.count >= 2, let t = Double(f[0]) else { return nil }
            return (t, f[1].hasPrefix("K"))
        }
    }

    static func report(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The video lane's counts in the `--metrics-json` report.
    static func videoCounts(_ report: [String: Any]) -> [String: Any] {
        let lanes = report["lanes"] as? [[String: Any]] ?? []
        let video = lanes.first { ($0["lane"] as? String)?.hasPrefix("video") == true }
        return video?["counts"] as? [String: Any] ?? [:]
    }

    /// An ffmpeg SRT listener on 127.0.0.1:`port` recording what it receives (stream copy) to
    /// `file`, `seconds` of media at most (nil: until the caller hangs up), with `passphrase`
    /// (nil: none); returned once its UDP port is bound, so labelcast's caller finds it there.
    static func receiver(_ rig: LiveRTMPTests.Rig, port: Int, passphrase: String?, seconds: Int? = nil, file: String,
                         copyts: Bool = false) throws -> LiveServers.Background {
        let url = "srt://127.0.0.1:\(port)?mode=listener" + (passphrase.map { "&passphrase=\($0)" } ?? "")
        let r = try LiveServers.Background("ffmpeg", ["-v", "error", "-y", "-i", url] + (seconds.map { ["-t", String($0)] } ?? [])
                                           + ["-c", "copy"] + (copyts ? ["-copyts"] : []) + [file], log: file + ".log")
        guard LiveServers.waitUntil(5, { LiveServers.udpBound(port: port) || !r.process.isRunning }), r.process.isRunning else {
            r.stop(SIGKILL)
            throw TestFailure("the SRT listener on \(port) did not come up: \(r.log)")
        }
        return r
    }

    @Test(.timeLimit(.minutes(2)))
    func srtOutputOutageKeepsRealTimeAndCountsDrops() throws {
        let rig = try LiveRTMPTests.rig()
        rig.nginx.stop()
        let input = LiveServers.freePort(), control = LiveServers.freePort(), srt = LiveServers.freePort()
        let rec1 = rig.dir + "/rec1.ts", rec2 = rig.dir + "/rec2.ts"
        // The first receiver takes 5 s of media, then hangs up (an SRT shutdown, so labelcast
        // hears it at once and little is in flight).
        let first = try Self.receiver(rig, port: srt, passphrase: Self.passphrase, seconds: 5, file: rec1, copyts: true)
        defer { first.stop(SIGKILL) }
        let publisher = try LiveStartWaitTests.udpPublisher(rig, port: input, seconds: 90)
        defer { publisher.stop(SIGKILL) }
        let published = Date()
        let lc = try LiveStartWaitTests.labelcast(rig, input: input, output: "srt://127.0.0.1:\(srt)?mode=caller&passphrase=\(Self.passphrase)",
                                                  control: control, extra: ["-f", "mpegts", "--frame-log", rig.dir + "/frames.csv"])
        defer { lc.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(25) { !first.process.isRunning }, "\(first.log) \(lc.log)")
        let firstEnded = Date()

        // 8 s without a listener: labelcast retries (0.5 s doubling, each SRT attempt up to 3 s).
        #expect(LiveRTMPTests.waitUntil(10) { LiveStartWaitTests.events(rig).contains("output_lost") }, "\(lc.log)")
        // Meanwhile the input keeps being read: labelcast's frames-in count never stands still
        // for long (a reconnect attempt on the mux queue held it for seconds at a time).
        var lastCount = -1.0, lastChange = Date(), longestStall = 0.0
        while Date().timeIntervalSince(firstEnded) < 8 {
            let text = (try? LiveServers.http("GET", "http://127.0.0.1:\(control)/metrics").body) ?? ""
            let line = text.split(whereSeparator: \.isNewline).first { $0.hasPrefix("labelcast_frames_in_total{") && $0.contains(#"lane="video""#) }
            if let n = line?.split(separator: " ").last.flatMap({ Double($0) }), n != lastCount {
                if lastCount >= 0 { longestStall = max(longestStall, Date().timeIntervalSince(lastChange)) }
                lastCount = n
                lastChange = Date()
            }
            usleep(100_000)
        }
        longestStall = max(longestStall, Date().timeIntervalSince(lastChange))
        #expect(longestStall < 1.5, "video frames in stood still for \(longestStall) s while the output was down")
        let down = LiveStartTests.health(control)
        #expect(down.status == 503 && down.body["status"] as? String == "reconnecting", "\(down)")
        let second = try Self.receiver(rig, port: srt, passphrase: Self.passphrase, file: rec2, copyts: true)
        defer { second.stop(SIGKILL) }
        let back = LiveStartWaitTests.healthUntilOK(control, seconds: 20)
        #expect(back.ok, "\(back.seen.suffix(2)) \(lc.log)")
        Thread.sleep(forTimeInterval: 5)
        let metrics = (try? LiveServers.http("GET", "http://127.0.0.1:\(control)/metrics").body) ?? ""
        let stopped = Date()
        #expect(lc.stop(SIGINT) == 130, "\(lc.log)")
        // labelcast closed its end: the second receiver finishes its file.
        #expect(LiveRTMPTests.waitUntil(10) { !second.process.isRunning }, "\(second.log)")

        let p1 = try Self.videoPackets(rec1), p2 = try Self.videoPackets(rec2)
        try #require(p1.count > 50 && p2.count > 50, "\(p1.count) + \(p2.count) packets received")
        // The input kept being read at real time through the outage: the media time the
        // receivers saw runs with the wall clock (same lag behind the publisher before and
        // after), and the gap in it is at least the time no listener was there. A pipeline
        // held up by reconnect attempts comes back seconds behind, with a short gap.
        let lagBefore = firstEnded.timeIntervalSince(published) - p1.last!.pts
        let lagAfter = stopped.timeIntervalSince(published) - p2.last!.pts
        #expect(lagAfter - lagBefore < 1.0, "lag behind the publisher: \(lagBefore) s before the outage, \(lagAfter) s after")
        let gap = p2.first!.pts - p1.last!.pts
        #expect(gap >= 8 - 1.0, "media time skipped over the outage: \(gap) s (listener away 8 s)")
        // It comes back on a keyframe, with timestamps running on, and every picture decodes.
        #expect(p2.first!.key, "the reconnected output starts on a keyframe")
        #expect(zip(p2, p2.dropFirst()).allSatisfy { $0.pts < $1.pts }, "pts increase after the reconnect")
        let decode = try TestSupport.run("ffmpeg", ["-v", "error", "-i", rec2, "-f", "null", "-"])
        #expect(decode.stderr.isEmpty, "\(decode.stderr)")
        try LiveTransportTests.check(rec2, key: rig.key)

        // Counted: frames in = written + dropped, the output-down drops in the report, the
        // summary line and /metrics; what labelcast says it wrote is what the receivers got
        // (less what was in flight when the first one hung up).
        let counts = Self.videoCounts(try Self.report(rig.dir + "/metrics.json"))
        let framesIn = counts["frames_in"] as? Int ?? -1, framesOut = counts["frames_out"] as? Int ?? -1
        let dropped = counts["dropped"] as? [String: Int] ?? [:]
        let downDrops = dropped["output-down"] ?? 0
        #expect(framesIn == framesOut + dropped.values.reduce(0, +), "\(counts)")
        // The frame log's written video rows, split at the outage (their largest media-time gap):
        // after it, exactly what the second receiver got; before it, at least what the first
        // kept (it starts recording at its first keyframe and drops what was in flight when
        // it hung up); in all, the report's frames out.
        let rows = try String(contentsOfFile: rig.dir + "/frames.csv", encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst()
            .map { $0.split(separator: ",") }.filter { $0.count > 2 && $0[1].hasPrefix("video") }.compactMap { Double($0[2]) }
        let cut = try #require(zip(rows, rows.dropFirst()).enumerated().max { ($0.1.1 - $0.1.0) < ($1.1.1 - $1.1.0) }?.offset)
        let before = cut + 1, after = rows.count - before
        #expect(rows.count == framesOut, "frame log \(rows.count) rows, report \(framesOut) out")
        // Each receiver's first picture is labelcast's first written to it (same media-time
        // to pts offset for both), and what it got is labelcast's pictures over that span,
        // with no hole, to the end: at the stop the SRT socket lingers until its unsent data
        // is through (live mode's default, linger 0, threw ~1 s away: up to 25 pictures).
        let offset1 = p1.first!.pts - rows[0], offset2 = p2.first!.pts - rows[cut + 1]
        #expect(abs(offset1 - offset2) < 0.03, "first pictures received: \(p1.first!.pts) ↔ \(rows[0]), \(p2.first!.pts) ↔ \(rows[cut + 1])")
        let span2 = rows[(cut + 1)...].filter { $0 + offset2 <= p2.last!.pts + 0.001 }.count
        #expect(span2 == p2.count && after - p2.count <= 2, "after the reconnect labelcast wrote \(after) pictures (\(span2) up to the last received), the receiver got \(p2.count)")
        let span1 = rows[...cut].filter { $0 + offset1 <= p1.last!.pts + 0.001 }.count
        #expect(span1 == p1.count, "before the outage: \(span1) written up to the first receiver's last picture, it got \(p1.count)")
        let logGap = rows[cut + 1] - rows[cut]
        // The receiver's gap also holds what was in flight at the hang-up (written, not received).
        #expect(logGap <= gap + 0.01 && logGap > 6, "the frame log's gap \(logGap) s, the receiver's \(gap) s")
        let missing = Int(logGap * 25 + 0.5) - 1
        #expect(abs(downDrops + (dropped["output-resync"] ?? 0) - missing) <= 2, "\(downDrops) output-down drops for a \(logGap) s gap (\(missing) frames): \(counts)")
        #expect(lc.log.contains("output-down: \(downDrops)"), "the summary line counts them: \(lc.log.suffix(1500))")
        let metricLine = metrics.split(whereSeparator: \.isNewline).first {
            $0.hasPrefix("labelcast_frames_dropped_total{") && $0.contains(#"lane="video""#) && $0.contains(#"reason="output-down""#)
        }
        #expect((metricLine?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 0, "/metrics counts them: \(metrics.prefix(3000))")
        let events = LiveStartWaitTests.events(rig)
        #expect(events.contains("output_lost") && events.contains("output_reconnected"), "\(events)")
        for text in [lc.log, metrics] + back.seen { #expect(!text.contains(Self.passphrase), "passphrase in \(text.prefix(2000))") }
    }

    /// `--reconnect-timeout` bounds a mid-stream outage too: the listener hangs up and never
    /// comes back, so the run ends (exit 2) with one line naming the output, redacted, at the
    /// bound (an SRT attempt in flight is cut); the drops until then are counted in the report.
    @Test(.timeLimit(.minutes(1)))
    func midStreamOutageGivesUpAfterTheReconnectTimeout() throws {
        let rig = try LiveRTMPTests.rig()
        rig.nginx.stop()
        let input = LiveServers.freePort(), control = LiveServers.freePort(), srt = LiveServers.freePort()
        let listener = try Self.receiver(rig, port: srt, passphrase: Self.passphrase, seconds: 3, file: rig.dir + "/rec.ts")
        defer { listener.stop(SIGKILL) }
        let publisher = try LiveStartWaitTests.udpPublisher(rig, port: input, seconds: 60)
        defer { publisher.stop(SIGKILL) }
        let lc = try LiveStartWaitTests.labelcast(rig, input: input, output: "srt://127.0.0.1:\(srt)?mode=caller&passphrase=\(Self.passphrase)",
                                                  control: control, extra: ["-f", "mpegts", "--reconnect-timeout", "4"])
        defer { lc.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(20) { LiveStartWaitTests.events(rig).contains("output_lost") }, "\(lc.log)")
        let lost = Date()
        #expect(LiveRTMPTests.waitUntil(15) { !lc.process.isRunning }, "\(lc.log)")
        let took = Date().timeIntervalSince(lost)
        #expect(lc.process.terminationStatus == 2, "\(lc.log)")
        #expect(took > 3.5 && took < 4 + 2, "gave up \(took) s after the loss (--reconnect-timeout 4, an attempt in flight cut)")
        let log = lc.log
        let lines = log.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("labelcast: error:") }
        #expect(lines.count == 1 && lines[0].contains("srt://127.0.0.1:\(srt)?mode=caller&passphrase=***") && lines[0].contains("not reachable for") && lines[0].contains("gave up after")
                && lines[0].contains("(Input/output error)"),
                "one line naming the output: \(log)")
        #expect(!log.contains(Self.passphrase))
        #expect(LiveStartWaitTests.events(rig).contains("output_gave_up"), "\(LiveStartWaitTests.events(rig))")
        let counts = Self.videoCounts(try Self.report(rig.dir + "/metrics.json"))
        let dropped = counts["dropped"] as? [String: Int] ?? [:]
        #expect((dropped["output-down"] ?? 0) > 50, "the drops until it gave up are counted: \(counts)")
        #expect(counts["frames_in"] as? Int == (counts["frames_out"] as? Int ?? -1) + dropped.values.reduce(0, +), "\(counts)")
    }

    /// A listener that rejects the caller's passphrase (wrong, or set on one end only): exit 2
    /// at once with one line, never retried; the passphrases appear nowhere; libsrt's lines
    /// come through labelcast's log (redacted, `[libsrt]`), not straight to stderr.
    @Test(.timeLimit(.minutes(2)))
    func srtPassphraseRejectionIsPermanent() throws {
        let rig = try LiveRTMPTests.rig()
        rig.nginx.stop()
        let theirs = "listenerPass-8h3n2c"
        let cases: [(name: String, caller: String, listener: String?, expect: String)] = [
            ("wrong passphrase", Self.passphrase, theirs, "SRT peer rejected the passphrase"),
            ("passphrase on the caller only", Self.passphrase, nil, "a passphrase is set on one end only"),
        ]
        for c in cases {
            let input = LiveServers.freePort(), control = LiveServers.freePort(), srt = LiveServers.freePort()
            let listener = try Self.receiver(rig, port: srt, passphrase: c.listener, file: rig.dir + "/never.ts")
            defer { listener.stop(SIGKILL) }
            let publisher = try LiveStartWaitTests.udpPublisher(rig, port: input, seconds: 30)
            defer { publisher.stop(SIGKILL) }
            let started = Date()
            let lc = try LiveStartWaitTests.labelcast(rig, input: input, output: "srt://127.0.0.1:\(srt)?mode=caller&passphrase=\(c.caller)",
                                                      control: control, extra: ["-f", "mpegts"])
            defer { lc.stop(SIGKILL) }
            let ended = LiveRTMPTests.waitUntil(20) { !lc.process.isRunning }
            let took = Date().timeIntervalSince(started)
            #expect(ended && lc.process.terminationStatus == 2, "\(c.name): exit 2 at once, not retried (\(took) s): \(lc.log)")
            let log = lc.log
            let lines = log.split(whereSeparator: \.isNewline).filter { $0.contains(c.expect) }
            #expect(lines.count == 1, "\(c.name): one line saying why: \(log)")
            #expect(lines.first?.contains("srt://127.0.0.1:\(srt)?mode=caller&passphrase=***") == true, "\(c.name): names the output, redacted: \(lines)")
            #expect(!log.contains("retrying every"), "\(c.name): not retried: \(log)")
            // libsrt's own lines came through labelcast (shown with -v, redacted), not its stderr.
            #expect(log.contains("[libsrt]") && !log.contains("/SRT:RcvQ"), "\(c.name): \(log)")
            for secret in [Self.passphrase, theirs] { #expect(!log.contains(secret), "\(c.name): \(secret) in \(log)") }
            #expect(!FileManager.default.fileExists(atPath: rig.dir + "/never.ts") || (try? Data(contentsOf: URL(fileURLWithPath: rig.dir + "/never.ts")).count) == 0)
        }
        // The same for an SRT caller *input* whose listener (the publisher) has another passphrase.
        let srt = LiveServers.freePort()
        let publisher = try LiveServers.Background("ffmpeg", LiveTransportTests.pushArgs(rig, seconds: 30, to: "srt://127.0.0.1:\(srt)?mode=listener&passphrase=\(theirs)"),
                                                   log: rig.dir + "/srtpub.log")
        defer { publisher.stop(SIGKILL) }
        try #require(LiveServers.waitUntil(5) { LiveServers.udpBound(port: srt) }, "the SRT publisher did not listen: \(publisher.log)")
        let out = rig.dir + "/in-rejected.ts"
        let r = try TestSupport.labelcast(["run", "-v", "-i", "srt://127.0.0.1:\(srt)?mode=caller&passphrase=\(Self.passphrase)", "-o", out,
                                           "--synthetic", "all", "--key-file", rig.key], timeout: 30)
        let errors = r.stderr.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("labelcast: error:") }
        #expect(r.status == 2 && errors.count == 1 && errors[0].contains("SRT peer rejected the passphrase")
                && errors[0].contains("passphrase=***"), "input: \(r.stderr)")
        for secret in [Self.passphrase, theirs] { #expect(!r.stderr.contains(secret), "input: \(secret) in \(r.stderr)") }
        #expect(!FileManager.default.fileExists(atPath: out), "nothing left behind")
    }
}
