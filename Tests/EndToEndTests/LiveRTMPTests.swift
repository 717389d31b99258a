import Foundation
import Testing
import TestSupport

/// Live operation for real on loopback: nginx-rtmp between an ffmpeg publisher, labelcast and
/// an ffmpeg recorder; the live switch through the control API; a server restart.
@Suite(.serialized) struct LiveRTMPTests {
    static let token = "live-test-token-0001"

    struct Rig {
        let dir: String
        let nginx: LiveServers.NginxRTMP
        let controlPort: Int
        let key: String
        let speech: String
    }

    static func rig() throws -> Rig {
        let dir = try TestSupport.temporaryDirectory("labelcast-live")
        let nginx = try LiveServers.NginxRTMP(dir: dir)
        let speech = try WatermarkEndToEndTests.makeSpeech(dir)
        let key = try WatermarkEndToEndTests.writeKey(dir)
        return Rig(dir: dir, nginx: nginx, controlPort: LiveServers.freePort(), key: key, speech: speech)
    }

    /// A flat grey 640x360 25 fps picture with looping speech over a quiet chord (programme
    /// audio never falls silent: silence carries no mark), published at its native rate.
    static func publish(_ rig: Rig, seconds: Int, log: String) throws -> LiveServers.Background {
        try LiveServers.Background("ffmpeg", [
            "-v", "error", "-re", "-f", "lavfi", "-i", "color=c=0x808080:size=640x360:rate=25",
            "-stream_loop", "-1", "-i", rig.speech,
            "-f", "lavfi", "-i", "aevalsrc=0.05*sin(2*PI*220*t)+0.04*sin(2*PI*277*t)+0.04*sin(2*PI*330*t)+0.02*sin(2*PI*1320*t):s=48000:c=stereo",
            "-filter_complex", "[1:a][2:a]amix=inputs=2:duration=first:normalize=0[a]",
            "-t", String(seconds), "-map", "0:v", "-map", "[a]",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-f", "flv", rig.nginx.url("ingest", "s"),
        ], log: rig.dir + "/" + log)
    }

    static func labelcast(_ rig: Rig, extra: [String] = []) throws -> LiveServers.Background {
        try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", rig.nginx.url("ingest", "s"), "-o", rig.nginx.url("live", "s"),
            "--listen", "127.0.0.1:\(rig.controlPort)", "--control-token", token, "--audit-log", rig.dir + "/audit.jsonl",
            "--key-file", rig.key, "--payload-id", "0xABCD", "--read-timeout", "2", "--crf", "20",
            "--metrics-json", rig.dir + "/metrics.json",
        ] + extra, log: rig.dir + "/labelcast.log")
    }

    /// Records the labeled output with its own timestamps (media time), once it is there.
    static func record(_ rig: Rig, to file: String) throws -> LiveServers.Background {
        try LiveServers.Background("ffmpeg", ["-v", "error", "-y", "-rw_timeout", "5000000", "-i", rig.nginx.url("live", "s"),
                                              "-c", "copy", "-copyts", file], log: file + ".log")
    }

    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { if condition() { return true }; usleep(100_000) }
        return condition()
    }

    /// Frames of a 640x360 recording with their pts, and whether each carries the label
    /// (the label's dark box in the top-right corner of a flat grey picture).
    static func labeledByTime(_ file: String) throws -> [(pts: Double, labeled: Bool)] {
        let probe = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
                                                   "-of", "csv=p=0", file])
        let times = probe.stdoutText.split(whereSeparator: \.isNewline).compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }
        let frames = try TestSupport.lumaFrames(file, width: 640, height: 360)
        return zip(times, frames).map { t, f in
            var dark = 0
            for y in 0..<60 { for x in 320..<640 where f[y * 640 + x] < 90 { dark += 1 } }
            return (t, dark > 400)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func liveSwitchLabelsFromThatMediaTimeOn() throws {
        let rig = try Self.rig()
        let publisher = try Self.publish(rig, seconds: 40, log: "publisher.log")
        defer { publisher.stop(SIGKILL) }
        #expect(Self.waitUntil(5) { (try? String(contentsOfFile: rig.dir + "/nginx-error.log", encoding: .utf8)) != nil })
        Thread.sleep(forTimeInterval: 1)
        let lc = try Self.labelcast(rig)
        defer { lc.stop(SIGKILL) }
        let base = "http://127.0.0.1:\(rig.controlPort)"
        // The control API answers once the stream runs.
        #expect(Self.waitUntil(15) { (try? LiveServers.http("GET", base + "/synthetic", token: Self.token).status) == 200 }, "\(lc.log)")
        let rec = rig.dir + "/rec.flv"
        let recorder = try Self.record(rig, to: rec)
        defer { recorder.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 4)

        // Security and validation first.
        #expect(try LiveServers.http("PUT", base + "/synthetic", body: #"{"synthetic": true}"#).status == 401)
        #expect(try LiveServers.http("PUT", base + "/synthetic", body: #"{"synthetic": true}"#, token: "wrong-token-000").status == 401)
        let bad = try LiveServers.http("PUT", base + "/synthetic", body: #"{"synthetic": "yes"}"#, token: Self.token)
        #expect(bad.status == 400 && bad.body.contains("synthetic"), "\(bad)")
        #expect(try LiveServers.http("PUT", base + "/synthetic", body: "{not json", token: Self.token).status == 400)
        #expect(try LiveServers.http("PUT", base + "/synthetic", body: String(repeating: "x", count: 70_000), token: Self.token).status == 413)
        #expect(try LiveServers.http("GET", base + "/metrics").status == 200, "metrics stay open")

        // Switch on; the answer is the media time from which both lanes are labeled.
        let on = try LiveServers.http("PUT", base + "/synthetic", body: #"{"synthetic": true}"#, token: Self.token)
        #expect(on.status == 200, "\(on)")
        let answer = try JSONSerialization.jsonObject(with: Data(on.body.utf8)) as? [String: Any]
        let switchTime = try #require(answer?["media_time"] as? Double)
        #expect(switchTime > 2)
        let state = try LiveServers.http("GET", base + "/synthetic", token: Self.token)
        #expect(state.body.contains(#""synthetic":true"#), "\(state)")
        Thread.sleep(forTimeInterval: 6)
        #expect(lc.stop(SIGTERM) == 143, "\(lc.log)")
        _ = Self.waitUntil(10) { !recorder.process.isRunning }
        recorder.stop()

        // Pictures: unlabeled before the switch, labeled from it on (within one frame).
        let frames = try Self.labeledByTime(rec)
        #expect(frames.count > 100, "recorded \(frames.count) frames; \(recorder.log)")
        let before = frames.filter { $0.pts < switchTime - 0.04 }
        let after = frames.filter { $0.pts >= switchTime + 0.04 }
        #expect(!before.isEmpty && !after.isEmpty)
        #expect(before.allSatisfy { !$0.labeled }, "labeled before the switch: \(before.filter(\.labeled).map(\.pts).prefix(5))")
        #expect(after.allSatisfy { $0.labeled }, "unlabeled after the switch: \(after.filter { !$0.labeled }.map(\.pts).prefix(5))")

        // Audio: marked from the same media time (the detector's range start, within 0.5 s).
        let detect = try TestSupport.labelcast(["detect", rec, "--key-file", rig.key, "--json"])
        #expect(detect.status == 0, "\(detect.stderr)")
        let found = try JSONDecoder().decode(WatermarkEndToEndTests.Found.self, from: detect.stdout)
        let segment = try #require(found.segments.first)
        #expect(segment.payload == "0x0000ABCD")
        // detect counts from the recording's first timestamp; the recording kept labelcast's.
        let recordingStart = try TestSupport.probe(rec).map(\.startTime).min() ?? 0
        #expect(abs(segment.start + recordingStart - switchTime) <= 0.5,
                "audio marked from \(segment.start + recordingStart), switch at \(switchTime)")

        // The audit log records the call and the segment that went out, with their sources.
        let audit = try String(contentsOfFile: rig.dir + "/audit.jsonl", encoding: .utf8).split(whereSeparator: \.isNewline)
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(audit.first?["event"] as? String == "run_start")
        let control = audit.first { $0["event"] as? String == "control" && $0["action"] as? String == "switch" }
        #expect(control?["synthetic"] as? Bool == true)
        #expect(abs((control?["media_time"] as? Double ?? -1) - switchTime) < 0.002)
        #expect((control?["client"] as? String)?.hasPrefix("127.0.0.1:") == true)
        let start = audit.first { $0["event"] as? String == "segment_start" && $0["lane"] as? String == "video" }
        #expect(abs((start?["media_time"] as? Double ?? -1) - switchTime) <= 0.05, "\(String(describing: start))")
        #expect((start?["source"] as? String)?.hasPrefix("control 127.0.0.1") == true)
        #expect(audit.contains { $0["event"] as? String == "segment_start" && $0["lane"] as? String == "audio" && $0["payload_id"] as? String == "0x0000ABCD" })
        #expect(audit.last?["event"] as? String == "run_end")
        // No secret in any log.
        let logs = lc.log + (try String(contentsOfFile: rig.dir + "/audit.jsonl", encoding: .utf8))
        #expect(!logs.contains(Self.token) && !logs.contains("test key 0123"))
    }

    /// The encoder restarts but nginx keeps labelcast's play session (it tells players nothing by
    /// default): the new stream arrives on the same connection with timestamps from 0 again.
    /// Media time must carry on, so the switched-on state still labels every frame after it,
    /// and the output's timestamps keep their pace (found by Benchmarks/soak: the replayed
    /// times went out unlabeled, and the video encoder got a second of frames 1 ms apart).
    @Test(.timeLimit(.minutes(2)))
    func publisherRestartOnAKeptSessionCarriesMediaTimeOn() throws {
        let rig = try Self.rig()
        var publisher = try Self.publish(rig, seconds: 60, log: "publisher1.log")
        defer { publisher.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1.5)
        let lc = try Self.labelcast(rig, extra: ["--read-timeout", "10"])
        defer { lc.stop(SIGKILL) }
        let base = "http://127.0.0.1:\(rig.controlPort)"
        #expect(Self.waitUntil(15) { (try? LiveServers.http("GET", base + "/synthetic", token: Self.token).status) == 200 }, "\(lc.log)")
        let rec = rig.dir + "/rec.flv"
        let recorder = try Self.record(rig, to: rec)
        defer { recorder.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 3)
        let on = try LiveServers.http("PUT", base + "/synthetic", body: #"{"synthetic": true}"#, token: Self.token)
        let switchTime = try #require((try JSONSerialization.jsonObject(with: Data(on.body.utf8)) as? [String: Any])?["media_time"] as? Double)
        Thread.sleep(forTimeInterval: 4)
        // Restarted well inside --read-timeout: labelcast's session never sees the gap.
        publisher.stop(SIGKILL)
        Thread.sleep(forTimeInterval: 1.5)
        publisher = try Self.publish(rig, seconds: 60, log: "publisher2.log")
        Thread.sleep(forTimeInterval: 8)
        let later = try LiveServers.http("GET", base + "/synthetic", token: Self.token)
        let laterTime = (try JSONSerialization.jsonObject(with: Data(later.body.utf8)) as? [String: Any])?["media_time"] as? Double ?? 0
        #expect(laterTime > switchTime + 8, "media time carries on: \(later.body), switched at \(switchTime)")
        #expect(lc.stop(SIGTERM) == 143, "\(lc.log)")
        recorder.stop()
        let audit = (try? String(contentsOfFile: rig.dir + "/audit.jsonl", encoding: .utf8)) ?? ""
        #expect(audit.contains(#""event":"input_discontinuity""#), "\(audit)")
        #expect(!audit.contains(#""event":"input_lost""#), "the session stayed up")
        let frames = try Self.labeledByTime(rec)
        let after = frames.filter { $0.pts >= switchTime + 0.04 }
        #expect(after.count > 200, "\(after.count) frames after the switch (4 s before the restart, 8 s after)")
        #expect(after.allSatisfy { $0.labeled }, "unlabeled after the switch: \(after.filter { !$0.labeled }.map(\.pts).prefix(5))")
        // Steady pace: no backward step, no frames crammed together (the restart may leave one gap).
        let steps = zip(frames.dropFirst(), frames).map { $0.pts - $1.pts }
        #expect(steps.allSatisfy { $0 > 0.02 }, "steps under 20 ms: \(steps.filter { $0 <= 0.02 }.count)")
    }

    @Test(.timeLimit(.minutes(2)))
    func survivesAServerRestart() throws {
        let rig = try Self.rig()
        var publisher = try Self.publish(rig, seconds: 60, log: "publisher1.log")
        defer { publisher.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1.5)
        let lc = try Self.labelcast(rig, extra: ["--synthetic", "all"])
        defer { lc.stop(SIGKILL) }
        let rec1 = rig.dir + "/rec1.flv", rec2 = rig.dir + "/rec2.flv"
        #expect(Self.waitUntil(15) { (try? LiveServers.http("GET", "http://127.0.0.1:\(rig.controlPort)/healthz").status) == 200 })
        let recorder1 = try Self.record(rig, to: rec1)
        Thread.sleep(forTimeInterval: 4)
        // The media server goes away and comes back on the same port.
        rig.nginx.stop()
        recorder1.stop()
        publisher.stop(SIGKILL)
        Thread.sleep(forTimeInterval: 1)
        try rig.nginx.start()
        publisher = try Self.publish(rig, seconds: 60, log: "publisher2.log")
        let auditPath = rig.dir + "/audit.jsonl"
        func auditHas(_ event: String) -> Bool { ((try? String(contentsOfFile: auditPath, encoding: .utf8)) ?? "").contains(#""event":"\#(event)""#) }
        #expect(Self.waitUntil(30) { auditHas("input_reconnected") && auditHas("output_reconnected") }, "\(lc.log)")
        #expect(lc.process.isRunning, "labelcast stays up through the restart")
        let recorder2 = try Self.record(rig, to: rec2)
        Thread.sleep(forTimeInterval: 5)
        #expect(lc.stop(SIGTERM) == 143, "\(lc.log)")
        _ = Self.waitUntil(10) { !recorder2.process.isRunning }
        recorder2.stop()
        #expect(auditHas("input_lost") && auditHas("output_lost"))
        // The recording continues after the restart, labeled, with timestamps that carry on.
        let first = try Self.labeledByTime(rec1), second = try Self.labeledByTime(rec2)
        #expect(first.count > 25 && second.count > 25, "\(first.count) then \(second.count) frames")
        #expect(second.allSatisfy { $0.labeled })
        #expect((second.first?.pts ?? 0) > (first.last?.pts ?? .infinity), "timestamps stay monotonic across the gap")
    }
}
