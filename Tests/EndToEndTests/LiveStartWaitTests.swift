import Foundation
import Testing
import TestSupport

/// Start-up like a reconnect (issue 16, finding 7), for real on loopback: a live run whose
/// output server is not up yet (nginx-rtmp started 5 s later; an ffmpeg SRT listener started
/// late) waits with the reconnect's backoff, says so in `/healthz` (503 "waiting" with the
/// reason, never "ok" before a frame is written) and in the audit log, then streams labeled
/// video there — with no URL credential, stream key or passphrase in any output. A command
/// that cannot work (unknown scheme, no such host, a server that refuses the stream key)
/// still fails at once, and `--reconnect-timeout` bounds the wait.
@Suite(.serialized) struct LiveStartWaitTests {
    static let password = "opPass-7f3k9q"
    static let streamKey = "streamKey-93jd81"
    static let passphrase = "srtPass-29fj3kx8"
    static let secrets = [password, streamKey, passphrase]

    static func leaks(_ text: String) -> [String] { secrets.filter { text.contains($0) } }

    /// The live input: a flat grey 640x360 picture with speech, as MPEG-TS over UDP.
    static func udpPublisher(_ rig: LiveRTMPTests.Rig, port: Int, seconds: Int) throws -> LiveServers.Background {
        try LiveServers.Background("ffmpeg", LiveTransportTests.pushArgs(rig, seconds: seconds, to: "udp://127.0.0.1:\(port)?pkt_size=1316"),
                                   log: rig.dir + "/pub.log")
    }

    static func labelcast(_ rig: LiveRTMPTests.Rig, input: Int, output: String, control: Int, extra: [String] = []) throws -> LiveServers.Background {
        try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-v", "-i", "udp://127.0.0.1:\(input)", "-o", output, "--synthetic", "all", "--key-file", rig.key,
            "--payload-id", "0xABCD", "--listen", "127.0.0.1:\(control)", "--audit-log", rig.dir + "/audit.jsonl",
            "--metrics-json", rig.dir + "/metrics.json", "--read-timeout", "3",
        ] + extra, log: rig.dir + "/labelcast.log")
    }

    static func events(_ rig: LiveRTMPTests.Rig) -> [String] {
        LiveStartTests.audit(rig.dir + "/audit.jsonl").compactMap { $0["event"] as? String }
    }

    /// Polls /healthz until it answers 200; returns every answer seen, for the secrets check.
    static func healthUntilOK(_ port: Int, seconds: Double) -> (ok: Bool, seen: [String]) {
        var seen: [String] = []
        let ok = LiveRTMPTests.waitUntil(seconds) {
            guard let r = try? LiveServers.http("GET", "http://127.0.0.1:\(port)/healthz") else { return false }
            seen.append(r.body)
            return r.status == 200
        }
        return (ok, seen)
    }

    /// RTMP output with `user:pass@` and a stream key; nginx-rtmp comes up 5 s after labelcast.
    @Test(.timeLimit(.minutes(2)))
    func rtmpOutputServerUpLateGetsLabeledVideo() throws {
        let rig = try LiveRTMPTests.rig()
        rig.nginx.stop()
        let input = LiveServers.freePort(), control = LiveServers.freePort()
        let output = "rtmp://opuser:\(Self.password)@127.0.0.1:\(rig.nginx.port)/live/\(Self.streamKey)"
        let publisher = try Self.udpPublisher(rig, port: input, seconds: 60)
        defer { publisher.stop(SIGKILL) }
        let started = Date()
        let lc = try Self.labelcast(rig, input: input, output: output, control: control)
        defer { lc.stop(SIGKILL) }

        #expect(LiveRTMPTests.waitUntil(10) { Self.events(rig).contains("output_waiting") }, "\(lc.log)")
        let waiting = LiveStartTests.health(control)
        #expect(waiting.status == 503 && waiting.body["status"] as? String == "waiting", "\(waiting)")
        let reason = waiting.body["reason"] as? String ?? ""
        #expect(reason.contains("rtmp://***@127.0.0.1:\(rig.nginx.port)/live/***") && reason.contains("not reachable")
                && reason.contains("Connection refused"), "the reason names the output, redacted: \(waiting.body)")
        #expect(waiting.body["frames_written"] as? Int == 0)
        var bodies = [String(describing: waiting.body)]

        // The server comes 5 s after labelcast started.
        Thread.sleep(forTimeInterval: max(0, 5 - Date().timeIntervalSince(started)))
        #expect(lc.process.isRunning, "still waiting: \(lc.log)")
        #expect(LiveStartTests.health(control).status == 503)
        try rig.nginx.start()
        let health = Self.healthUntilOK(control, seconds: 25)
        bodies += health.seen
        #expect(health.ok, "healthy once frames flow: \(health.seen.suffix(3)) \(lc.log)")

        // Read back from nginx what a player gets.
        let rec = rig.dir + "/rec.flv"
        let recorder = try LiveServers.Background("ffmpeg", ["-v", "error", "-y", "-rw_timeout", "5000000",
                                                             "-i", rig.nginx.url("live", Self.streamKey), "-t", "5", "-c", "copy", rec],
                                                  log: rig.dir + "/rec.log")
        defer { recorder.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(20) { !recorder.process.isRunning }, "\(recorder.log)")
        #expect(lc.stop(SIGTERM) == 143, "\(lc.log)")
        try LiveTransportTests.check(rec, key: rig.key)

        let events = Self.events(rig)
        let waitAt = events.firstIndex(of: "output_waiting"), backAt = events.firstIndex(of: "output_reconnected")
        #expect(waitAt != nil && backAt != nil && waitAt! < backAt!, "waiting, then connected: \(events)")
        #expect(!events.contains("output_gave_up"), "\(events)")
        let logWarnings = lc.log.components(separatedBy: "not reachable").count - 1
        #expect(logWarnings == 1, "one line for the wait, not one per attempt: \(lc.log)")
        let artefacts = [lc.log, (try? String(contentsOfFile: rig.dir + "/audit.jsonl", encoding: .utf8)) ?? "",
                         (try? String(contentsOfFile: rig.dir + "/metrics.json", encoding: .utf8)) ?? ""] + bodies
        for text in artefacts { #expect(Self.leaks(text).isEmpty, "\(Self.leaks(text)) in \(text.prefix(2000))") }
    }

    /// An SRT caller output (with a passphrase) whose listener — ffmpeg — comes up 6 s late.
    @Test(.timeLimit(.minutes(2)))
    func srtCallerOutputWaitsForItsListener() throws {
        let rig = try LiveRTMPTests.rig()
        rig.nginx.stop()
        let input = LiveServers.freePort(), control = LiveServers.freePort(), srt = LiveServers.freePort()
        let publisher = try Self.udpPublisher(rig, port: input, seconds: 60)
        defer { publisher.stop(SIGKILL) }
        let started = Date()
        let lc = try Self.labelcast(rig, input: input, output: "srt://127.0.0.1:\(srt)?mode=caller&passphrase=\(Self.passphrase)",
                                    control: control, extra: ["-f", "mpegts"])
        defer { lc.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(12) { Self.events(rig).contains("output_waiting") }, "\(lc.log)")
        let waiting = LiveStartTests.health(control)
        #expect(waiting.status == 503 && waiting.body["status"] as? String == "waiting", "\(waiting)")
        #expect((waiting.body["reason"] as? String ?? "").contains("passphrase=***"), "\(waiting.body)")
        var bodies = [String(describing: waiting.body)]
        Thread.sleep(forTimeInterval: max(0, 6 - Date().timeIntervalSince(started)))
        #expect(lc.process.isRunning, "\(lc.log)")
        let rec = rig.dir + "/rec.ts"
        let listener = try LiveServers.Background("ffmpeg", ["-v", "error", "-y", "-i", "srt://127.0.0.1:\(srt)?mode=listener&passphrase=\(Self.passphrase)",
                                                             "-t", "5", "-c", "copy", rec], log: rig.dir + "/listener.log")
        defer { listener.stop(SIGKILL) }
        let health = Self.healthUntilOK(control, seconds: 25)
        bodies += health.seen
        #expect(health.ok, "\(health.seen.suffix(3)) \(lc.log)")
        #expect(LiveRTMPTests.waitUntil(25) { !listener.process.isRunning }, "\(listener.log)")
        lc.stop(SIGINT)
        try LiveTransportTests.check(rec, key: rig.key)
        let events = Self.events(rig)
        #expect(events.contains("output_reconnected"), "\(events)")
        // One ProduceID for the run, said once (each attempt prepares a muxer).
        #expect(lc.log.components(separatedBy: "AIGC metadata: ProduceID").count == 2, "\(lc.log)")
        let artefacts = [lc.log, (try? String(contentsOfFile: rig.dir + "/audit.jsonl", encoding: .utf8)) ?? ""] + bodies
        for text in artefacts { #expect(Self.leaks(text).isEmpty, "\(Self.leaks(text)) in \(text.prefix(2000))") }
    }

    /// An RTMP input (labelcast calls it) whose server and publisher come 4 s late: waited for
    /// like a reconnect (it used to end the run with exit 2), then labeled.
    @Test(.timeLimit(.minutes(2)))
    func rtmpInputUpLateIsWaitedFor() throws {
        let rig = try LiveRTMPTests.rig()
        rig.nginx.stop()
        let control = LiveServers.freePort(), out = rig.dir + "/out.ts"
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", rig.nginx.url("ingest", "s"), "-o", out, "--synthetic", "all", "--key-file", rig.key,
            "--payload-id", "0xABCD", "--listen", "127.0.0.1:\(control)", "--audit-log", rig.dir + "/audit.jsonl", "--read-timeout", "3",
        ], log: rig.dir + "/labelcast.log")
        defer { lc.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(10) { Self.events(rig).contains("input_waiting") }, "\(lc.log)")
        let waiting = LiveStartTests.health(control)
        #expect(waiting.status == 503 && waiting.body["status"] as? String == "waiting"
                && (waiting.body["reason"] as? String ?? "").contains("/ingest/*** not reachable"), "\(waiting)")
        Thread.sleep(forTimeInterval: 3)
        #expect(lc.process.isRunning, "\(lc.log)")
        try rig.nginx.start()
        let publisher = try LiveRTMPTests.publish(rig, seconds: 40, log: "publisher.log")
        defer { publisher.stop(SIGKILL) }
        #expect(Self.healthUntilOK(control, seconds: 25).ok, "\(LiveStartTests.health(control)) \(lc.log)")
        #expect(Self.events(rig).contains("input_ready"), "\(Self.events(rig))")
        Thread.sleep(forTimeInterval: 4)
        #expect(lc.stop(SIGINT) == 130, "\(lc.log)")
        try LiveTransportTests.check(out, key: rig.key)
    }

    /// Mistakes no waiting mends end the run at once (exit 2, one line, no secret); a
    /// connection that stays refused ends it after `--reconnect-timeout`.
    @Test(.timeLimit(.minutes(2)))
    func permanentErrorsFailFastAndTheWaitIsBounded() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-startwait")
        let nginx = try LiveServers.NginxRTMP(dir: dir + "/nginx")
        let file = dir + "/in.mp4"
        try TestSupport.makeMedia(file, seconds: 1, video: "testsrc2=size=320x180:rate=25")
        let refused = LiveServers.freePort()
        let key = Self.streamKey, cred = "u:\(Self.password)@"
        let cases: [(args: [String], says: String)] = [
            (["-i", file, "-o", "rtmpx://\(cred)127.0.0.1:\(refused)/live/x", "-f", "flv"], "rtmpx://***@"),
            (["-i", file, "-o", "rtmp://\(cred)no-such-host.invalid/live/\(key)"], "host 'no-such-host.invalid' not found"),
            (["-i", "rtmp://\(cred)no-such-host.invalid/live/\(key)", "-o", dir + "/out.flv"], "host 'no-such-host.invalid' not found"),
            // nginx-rtmp closes the connection for an application it does not have (as for a
            // key its on_publish hook refuses): the server is up and said no.
            (["-i", file, "-o", "rtmp://\(cred)127.0.0.1:\(nginx.port)/nosuchapp/\(key)"], "refused the application or stream key"),
            (["-i", file, "-o", dir + "/no-such-dir/out.mp4"], "no-such-dir/out.mp4"),
        ]
        for c in cases {
            let started = Date()
            let r = try TestSupport.labelcast(["run"] + c.args, timeout: 30)
            #expect(Date().timeIntervalSince(started) < 8, "\(c.args): took \(Date().timeIntervalSince(started)) s")
            #expect(r.status == 2, "\(c.args): exit \(r.status) \(r.stderr)")
            #expect(r.errorLines.count == 1 && r.stderr.contains(c.says), "\(c.args): \(r.stderr)")
            #expect(Self.leaks(r.stderr).isEmpty, "\(Self.leaks(r.stderr)) in \(r.stderr)")
            #expect(!r.stderr.contains("retrying"), "a permanent error is not retried: \(r.stderr)")
        }
        // Transient, bounded: the output and (a caller) input stay refused for 2 s.
        for side in ["-o", "-i"] {
            let url = "rtmp://\(cred)127.0.0.1:\(refused)/live/\(key)"
            let audit = dir + "/audit\(side).jsonl"
            let args = side == "-o" ? ["run", "-i", file, "--realtime", "-o", url] : ["run", "-i", url, "-o", dir + "/out2.flv"]
            let started = Date()
            let r = try TestSupport.labelcast(args + ["--reconnect-timeout", "2", "--audit-log", audit], timeout: 30)
            let took = Date().timeIntervalSince(started)
            #expect(took >= 2 && took < 8, "\(side): \(took) s")
            #expect(r.status == 2, "\(side): exit \(r.status) \(r.stderr)")
            // Two lines: the wait (once, not per attempt) and the end.
            #expect(r.errorLines.count == 2, "\(r.stderr)")
            #expect(r.errorLines.first?.contains("not reachable (Connection refused): retrying") == true, "\(r.stderr)")
            #expect(r.errorLines.last?.contains("gave up") == true && r.stderr.contains("--reconnect-timeout 2"), "\(r.stderr)")
            let events = LiveStartTests.audit(audit).compactMap { $0["event"] as? String }
            let which = side == "-o" ? "output" : "input"
            #expect(events.contains("\(which)_waiting") && events.contains("\(which)_gave_up"), "\(events)")
            let text = (try? String(contentsOfFile: audit, encoding: .utf8)) ?? ""
            #expect(Self.leaks(r.stderr + text).isEmpty, "\(Self.leaks(r.stderr + text))")
        }
        #expect(TestSupport.files(in: dir).allSatisfy { !$0.contains("out") }, "nothing written: \(TestSupport.files(in: dir))")
    }
    /// SIGINT while the first connection attempt to an output is in flight (an SRT caller with
    /// no listener: the attempt waits for a handshake): exit 130 at once, a line that says it
    /// was interrupted (not the I/O error FFmpeg gives the interrupted call), no secret,
    /// nothing written.
    @Test(.timeLimit(.minutes(1)))
    func sigintWhileTheOutputConnectsSaysSo() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-startwait-int")
        let file = dir + "/in.mp4"
        try TestSupport.makeMedia(file, seconds: 2, video: "testsrc2=size=320x180:rate=25")
        let url = "srt://127.0.0.1:\(LiveServers.freePort())?mode=caller&passphrase=\(Self.passphrase)"
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, ["run", "-i", file, "--realtime", "-o", url, "-f", "mpegts"],
                                            log: dir + "/lc.log")
        defer { lc.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1.0)
        #expect(lc.process.isRunning, "\(lc.log)")
        let stopped = Date()
        #expect(lc.stop(SIGINT) == 130, "\(lc.log)")
        #expect(Date().timeIntervalSince(stopped) < 3, "SIGINT ends the attempt at once")
        #expect(lc.log.contains("interrupted before the output"), "\(lc.log)")
        #expect(!lc.log.contains("Input/output error") && !lc.log.contains("cannot write output"), "\(lc.log)")
        #expect(Self.leaks(lc.log).isEmpty, "\(Self.leaks(lc.log))")
        #expect(TestSupport.files(in: dir) == ["in.mp4", "lc.log"], "\(TestSupport.files(in: dir))")
    }
}
