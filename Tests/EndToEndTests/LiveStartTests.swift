import Foundation
import Testing
import TestSupport

/// The start of a live run for real on loopback (issue 16, items 1, 7, 8): an RTMP input whose
/// video nginx-rtmp holds back until the next keyframe (`wait_key on`, a 6 s GOP) comes up with
/// its video, at the start and after a reconnect; declared video that never comes is a loud
/// "degraded"; an output server that is down at the start, or an SRT listener with no caller,
/// is waited for; frames lost on a lossy UDP link are counted as `lost_upstream`.
@Suite(.serialized) struct LiveStartTests {
    static func health(_ port: Int) -> (status: Int, body: [String: Any]) {
        guard let r = try? LiveServers.http("GET", "http://127.0.0.1:\(port)/healthz") else { return (0, [:]) }
        let body = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:]
        return (r.status, body)
    }

    static func audit(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
    static func auditHas(_ path: String, _ event: String) -> Bool { audit(path).contains { $0["event"] as? String == event } }

    /// A 320x180 25 fps publisher with a keyframe every `gop` frames and a 48 kHz tone.
    static func publish(_ url: String, gop: Int, seconds: Int, log: String) throws -> LiveServers.Background {
        try LiveServers.Background("ffmpeg", [
            "-v", "error", "-re", "-f", "lavfi", "-i", "color=c=0x808080:size=320x180:rate=25",
            "-f", "lavfi", "-i", "sine=f=440:r=48000", "-t", String(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", String(gop), "-keyint_min", String(gop),
            "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-f", "flv", url,
        ], log: log)
    }

    /// A TCP relay (python3) from 127.0.0.1:listen to 127.0.0.1:target: killing it drops only
    /// the connections through it, so a reader reconnects while the publisher stays on.
    static let relayScript = """
    import socket, sys, threading
    listen, target = int(sys.argv[1]), int(sys.argv[2])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen))
    server.listen(8)
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    while True:
        client, _ = server.accept()
        upstream = socket.create_connection(("127.0.0.1", target))
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    """
    static func relay(from listen: Int, to target: Int, log: String) throws -> LiveServers.Background {
        let r = try LiveServers.Background("python3", ["-c", relayScript, String(listen), String(target)], log: log)
        for _ in 0..<100 where !LiveServers.canConnect(port: listen) { usleep(50_000) }
        return r
    }

    /// Video frames (pts) and audio packets (pts) of a recording, read by ffprobe.
    static func times(_ file: String, _ stream: String) throws -> [Double] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time",
                                                "-of", "csv=p=0", file])
        return r.stdoutText.split(whereSeparator: \.isNewline).compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }
    }

    static func metricsLanes(_ path: String) -> [String: [String: Any]] {
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let lanes = json["lanes"] as? [[String: Any]] else { return [:] }
        var out: [String: [String: Any]] = [:]
        for l in lanes { if let name = l["lane"] as? String { out[name] = l["counts"] as? [String: Any] ?? [:] } }
        return out
    }

    /// Joined mid-GOP (2.5 s into a 6 s GOP, nginx-rtmp `wait_key on`): labelcast waits for the
    /// video; then its connection drops (a relay in between is killed and restarted) and the
    /// reconnect lands mid-GOP again. The output has video from both connections, nothing is
    /// "missing", and a clean stream counts no frame as lost upstream.
    @Test(.timeLimit(.minutes(2)))
    func rtmpJoinedMidGOPHasVideoAtStartAndAfterAReconnect() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-livestart")
        let nginx = try LiveServers.NginxRTMP(dir: dir, ingest: "wait_key on;")
        let publisher = try Self.publish(nginx.url("ingest", "s"), gop: 150, seconds: 60, log: dir + "/pub.log")
        defer { publisher.stop(SIGKILL) }
        let relayPort = LiveServers.freePort()
        var relay = try Self.relay(from: relayPort, to: nginx.port, log: dir + "/relay1.log")
        defer { relay.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 2.5)
        let out = dir + "/out.mkv", audit = dir + "/audit.jsonl", metrics = dir + "/metrics.json"
        let port = LiveServers.freePort()
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", "rtmp://127.0.0.1:\(relayPort)/ingest/s", "-o", out, "--synthetic", "none", "--read-timeout", "2",
            "--listen", "127.0.0.1:\(port)", "--audit-log", audit, "--metrics-json", metrics, "-v",
        ], log: dir + "/labelcast.log")
        defer { lc.stop(SIGKILL) }
        func written() -> Int { Self.health(port).body["frames_written"] as? Int ?? 0 }
        #expect(LiveRTMPTests.waitUntil(20) { Self.health(port).status == 200 && written() > 50 }, "\(Self.health(port).body) \(lc.log)")
        Thread.sleep(forTimeInterval: 1)
        // labelcast's connection drops; the publisher stays on, so the reconnect joins mid-GOP.
        relay.stop(SIGKILL)
        relay = try Self.relay(from: relayPort, to: nginx.port, log: dir + "/relay2.log")
        #expect(LiveRTMPTests.waitUntil(20) { Self.auditHas(audit, "input_reconnected") }, "\(lc.log)")
        let before = written()
        #expect(LiveRTMPTests.waitUntil(15) { written() > before + 150 }, "\(Self.health(port).body)")
        #expect(lc.stop(SIGTERM) == 143, "\(lc.log)")
        let video = try Self.times(out, "v:0"), audio = try Self.times(out, "a:0")
        #expect(video.count > 75, "video frames in the output: \(video.count); \(lc.log)")
        // Video right up to the end: the reconnect brought it back, not just audio.
        #expect((audio.max() ?? 0) - (video.max() ?? 0) < 1.5, "last video \(video.max() ?? -1) s, last audio \(audio.max() ?? -1) s")
        #expect(!Self.auditHas(audit, "input_stream_missing"), "\(lc.log)")
        let waits = lc.log.components(separatedBy: "for its declared streams").count - 1
        #expect(waits >= 1, "the mid-GOP join was waited for: \(lc.log)")
        let lanes = Self.metricsLanes(metrics)
        #expect(lanes["video"]?["lost_upstream"] as? Int == 0, "a clean stream loses nothing upstream: \(lanes)")
    }

    /// Declared video (onMetaData videocodecid) that does not come within --probe-timeout: a
    /// warning, an audit entry, and /healthz 503 "degraded" naming "no video", not "ok".
    @Test(.timeLimit(.minutes(1)))
    func declaredVideoThatNeverComesIsDegraded() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-livestart")
        let nginx = try LiveServers.NginxRTMP(dir: dir, ingest: "wait_key on;")
        let input = nginx.url("ingest", "s")
        let publisher = try Self.publish(input, gop: 300, seconds: 40, log: dir + "/pub.log")
        defer { publisher.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1.5)
        let audit = dir + "/audit.jsonl", port = LiveServers.freePort()
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", input, "-o", dir + "/out.mkv", "--synthetic", "none", "--read-timeout", "3", "--probe-timeout", "2",
            "--listen", "127.0.0.1:\(port)", "--audit-log", audit,
        ], log: dir + "/labelcast.log")
        defer { lc.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(15) { (Self.health(port).body["frames_written"] as? Int ?? 0) > 20 }, "\(lc.log)")
        let h = Self.health(port)
        #expect(h.status == 503 && h.body["status"] as? String == "degraded", "\(h)")
        #expect(((h.body["degraded"] as? [String]) ?? []).contains { $0.hasPrefix("no video") }, "\(h)")
        #expect(lc.log.contains("no video: the input declares video"), "\(lc.log)")
        #expect(Self.audit(audit).contains { $0["event"] as? String == "input_stream_missing" && $0["stream"] as? String == "video" })
        #expect(lc.stop(SIGTERM) == 143, "\(lc.log)")
    }

    /// The output server is down when labelcast starts and comes up 5 s later: labelcast waits
    /// ("waiting", 503; audit `output_waiting`), then streams to it. (A light stream, unlabeled:
    /// this is about the wait, and must keep real time on a loaded machine.)
    @Test(.timeLimit(.minutes(2)))
    func outputServerStartedLaterIsWaitedFor() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-livestart")
        let inServer = try LiveServers.NginxRTMP(dir: dir + "/in")
        let outServer = try LiveServers.NginxRTMP(dir: dir + "/out")
        outServer.stop()
        let publisher = try Self.publish(inServer.url("ingest", "s"), gop: 25, seconds: 60, log: dir + "/pub.log")
        defer { publisher.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1.5)
        let audit = dir + "/audit.jsonl", port = LiveServers.freePort()
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", inServer.url("ingest", "s"), "-o", outServer.url("live", "s"), "--synthetic", "none",
            "--listen", "127.0.0.1:\(port)", "--audit-log", audit, "--read-timeout", "3",
        ], log: dir + "/labelcast.log")
        defer { lc.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(10) { Self.auditHas(audit, "output_waiting") }, "\(lc.log)")
        let waiting = Self.health(port)
        #expect(waiting.status == 503 && waiting.body["status"] as? String == "waiting", "\(waiting)")
        Thread.sleep(forTimeInterval: 3.5)
        #expect(lc.process.isRunning, "still waiting 5 s in: \(lc.log)")
        try outServer.start()
        #expect(LiveRTMPTests.waitUntil(20) { Self.auditHas(audit, "output_reconnected") }, "\(lc.log)")
        #expect(LiveRTMPTests.waitUntil(10) { Self.health(port).status == 200 }, "\(Self.health(port))")
        let rec = dir + "/rec.flv"
        let recorder = try LiveServers.Background("ffmpeg", ["-v", "error", "-y", "-rw_timeout", "5000000", "-i", outServer.url("live", "s"),
                                                             "-c", "copy", rec], log: rec + ".log")
        defer { recorder.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 5)
        #expect(lc.stop(SIGTERM) == 143, "\(lc.log)")
        _ = LiveRTMPTests.waitUntil(10) { !recorder.process.isRunning }
        recorder.stop()
        let frames = try Self.times(rec, "v:0")
        #expect(frames.count > 25, "\(frames.count) video frames recorded from the late server; \(recorder.log)")
    }

    /// An SRT listener with no caller waits ("waiting", 503, audit `input_waiting`) past its
    /// read timeout instead of exit 2; SIGINT while waiting ends it cleanly (130, nothing left
    /// behind); a caller that comes later is streamed.
    @Test(.timeLimit(.minutes(2)))
    func srtListenerWaitsForItsCaller() throws {
        let rig = try LiveRTMPTests.rig()
        let port = LiveServers.freePort(), control = LiveServers.freePort()
        // Stopped while waiting.
        let quitDir = rig.dir + "/quit"
        try FileManager.default.createDirectory(atPath: quitDir, withIntermediateDirectories: true)
        let quitter = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", "srt://127.0.0.1:\(LiveServers.freePort())?mode=listener", "-o", quitDir + "/out.ts", "--read-timeout", "1",
            "--audit-log", rig.dir + "/quit-audit.jsonl",
        ], log: rig.dir + "/quit.log")
        defer { quitter.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 2.5)
        #expect(quitter.process.isRunning, "waits past its 1 s read timeout: \(quitter.log)")
        let stopped = Date()
        #expect(quitter.stop(SIGINT) == 130, "\(quitter.log)")
        #expect(Date().timeIntervalSince(stopped) < 3, "SIGINT ends the wait at once")
        #expect(TestSupport.files(in: quitDir).isEmpty, "nothing left behind: \(TestSupport.files(in: quitDir))")
        #expect(Self.auditHas(rig.dir + "/quit-audit.jsonl", "input_waiting"))

        // A caller that comes 4 s late.
        let out = rig.dir + "/out.ts", audit = rig.dir + "/audit.jsonl"
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", "srt://127.0.0.1:\(port)?mode=listener", "-o", out, "--synthetic", "all", "--key-file", rig.key,
            "--payload-id", "0xABCD", "--read-timeout", "2", "--listen", "127.0.0.1:\(control)", "--audit-log", audit,
        ], log: rig.dir + "/lc.log")
        defer { lc.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 3)
        let waiting = Self.health(control)
        #expect(waiting.status == 503 && waiting.body["status"] as? String == "waiting", "\(waiting) \(lc.log)")
        #expect(Self.auditHas(audit, "input_waiting"), "\(lc.log)")
        Thread.sleep(forTimeInterval: 1)
        let pub = try LiveServers.Background("ffmpeg", LiveTransportTests.pushArgs(rig, seconds: 6, to: "srt://127.0.0.1:\(port)?mode=caller"),
                                             log: rig.dir + "/pub.log")
        defer { pub.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(15) { Self.health(control).status == 200 }, "\(Self.health(control)) \(lc.log)")
        #expect(Self.auditHas(audit, "input_ready"))
        _ = LiveRTMPTests.waitUntil(15) { !pub.process.isRunning }
        #expect(lc.stop(SIGINT) == 130, "\(lc.log)")
        try LiveTransportTests.check(out, key: rig.key)
    }

    /// MPEG-TS over UDP with datagrams lost on the way (every 10th of the stream's 1316-byte
    /// datagrams not sent): the frames the link lost are counted as `lost_upstream` in the
    /// report, and agree with what ffprobe finds missing in the bytes that were sent.
    @Test(.timeLimit(.minutes(1)))
    func udpLossIsCountedAsLostUpstream() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-loss")
        let source = dir + "/source.ts"
        try TestSupport.makeMedia(source, seconds: 8, video: "testsrc2=size=320x180:rate=25",
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-f", "mpegts"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let size = 1316
        let datagrams = stride(from: 0, to: bytes.count, by: size).map { bytes.subdata(in: $0..<min($0 + size, bytes.count)) }
        // Lose every 10th datagram after the first second (the probe sees a clean start).
        let keep = datagrams.indices.map { $0 < datagrams.count / 8 || $0 % 10 != 0 }
        let sent = dir + "/sent.ts"
        try datagrams.indices.filter { keep[$0] }.reduce(into: Data()) { $0.append(datagrams[$1]) }.write(to: URL(fileURLWithPath: sent))

        let port = LiveServers.freePort(), metrics = dir + "/metrics.json"
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", "udp://127.0.0.1:\(port)", "-o", dir + "/out.mkv", "--synthetic", "none", "--read-timeout", "2",
            "--no-reconnect", "--metrics-json", metrics,
        ], log: dir + "/lc.log")
        defer { lc.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1)
        // Send at the stream's own rate (8 s), as a live encoder would.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let start = Date()
        for (i, d) in datagrams.enumerated() {
            let due = 8.0 * Double(i) / Double(datagrams.count)
            let wait = due - Date().timeIntervalSince(start)
            if wait > 0 { usleep(UInt32(wait * 1e6)) }
            guard keep[i] else { continue }
            _ = d.withUnsafeBytes { buf in
                withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, d.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                } }
            }
        }
        // The input goes quiet: --no-reconnect ends the run after the read timeout.
        #expect(LiveRTMPTests.waitUntil(15) { !lc.process.isRunning }, "\(lc.log)")
        let lanes = Self.metricsLanes(metrics)
        let lost = lanes["video"]?["lost_upstream"] as? Int ?? -1
        let damaged = lanes["video"]?["corrupt_upstream"] as? Int ?? -1
        // The oracle: video packets ffprobe reads in the source and in the bytes sent.
        let expected = try Self.times(source, "v:0").count - Self.times(sent, "v:0").count
        #expect(expected > 3, "the loss removes frames: \(expected)")
        #expect(abs(lost - expected) <= max(2, expected / 5), "lost_upstream \(lost), ffprobe finds \(expected) frames missing; \(lc.log)")
        #expect(damaged > 0, "continuity errors flag damaged packets: \(lanes)")
        // Audio: an MPEG-TS PES carries several AAC frames, so count by time: the gaps between
        // the timestamps ffprobe reads from the bytes sent, in 1024-sample frames.
        let audio = try Self.times(sent, "a:0").sorted(), frame = 1024.0 / 48000
        let audioExpected = zip(audio, audio.dropFirst()).map { max(0, Int((($1 - $0) / frame).rounded()) - 1) }.reduce(0, +)
        let audioLost = lanes["audio"]?["lost_upstream"] as? Int ?? -1
        #expect(audioExpected > 5 && abs(audioLost - audioExpected) <= max(2, audioExpected / 5),
                "audio lost_upstream \(audioLost), ffprobe's timestamps miss \(audioExpected) frames")
        print("udp loss: lost_upstream \(lost) (ffprobe: \(expected) video packets missing), corrupt_upstream \(damaged); audio lost_upstream \(audioLost) (ffprobe's timestamps: \(audioExpected))")
    }
}

/// The `--segments-out` sidecar counts each lane's packets in the segment their media time
/// falls in, whatever order the lanes reached the muxer in: per segment and lane, its packet
/// and labeled counts are the frame log's rows in [start, end).
@Suite struct SidecarAccountingTests {
    @Test(.timeLimit(.minutes(1)))
    func sidecarCountsAgreeWithTheFrameLog() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-sidecar")
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 10, video: "testsrc2=size=320x240:rate=25")
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mp4", "--segments", "1-3,5-7.5",
                                           "--segments-out", dir + "/sidecar.json", "--frame-log", dir + "/frames.csv", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/sidecar.json"))) as? [String: Any]
        let segments = sidecar?["segments"] as? [[String: Any]] ?? []
        #expect(segments.count == 2, "\(segments)")
        struct Row { let lane: String; let time: Double; let labeled: Bool }
        var rows: [Row] = []
        for line in try String(contentsOfFile: dir + "/frames.csv", encoding: .utf8).split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            rows.append(Row(lane: f[1], time: Double(f[2]) ?? -1, labeled: f[4] == "1"))
        }
        for s in segments {
            let start = s["start"] as? Double ?? -1, end = s["end"] as? Double ?? -1
            let packets = s["packets"] as? [String: Int] ?? [:], labeled = s["labeledPackets"] as? [String: Int] ?? [:]
            for lane in ["video", "audio"] {
                let inRange: [Row] = rows.filter { (r: Row) -> Bool in r.lane == lane && r.time >= start - 1e-6 && r.time < end - 1e-6 }
                let inRangeLabeled = inRange.filter { (r: Row) -> Bool in r.labeled }.count
                let sidecarPackets: Int = packets[lane] ?? -1, sidecarLabeled: Int = labeled[lane] ?? -1
                #expect(sidecarPackets == inRange.count, "\(lane) [\(start), \(end)): sidecar \(sidecarPackets) packets, frame log \(inRange.count)")
                #expect(sidecarLabeled == inRangeLabeled, "\(lane) [\(start), \(end)): sidecar \(sidecarLabeled) labeled, frame log \(inRangeLabeled)")
                #expect(inRange.count > 40)
            }
        }
    }
}
