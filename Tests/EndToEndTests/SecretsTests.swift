import Foundation
import Testing
import TestSupport

/// Secrets never appear in any output: a live run through a real nginx-rtmp on loopback with
/// an RTMP stream key on both sides, URL credentials, a control token and a watermark key,
/// with -v (FFmpeg's own log lines), every artefact written; and a run whose secrets come from
/// the environment and files, whose process list shows none of them.
@Suite(.serialized) struct SecretsTests {
    static let inKey = "k3y1-abcd-efgh-ijkl-0001"
    static let outKey = "k3y2-mnop-qrst-uvwx-0002"
    static let password = "PW-s3cret-9911"
    static let token = "tok-5ecret-ab12-cd34"
    static let watermarkKey = "wm-secret-key-material-42"
    static let passphrase = "SRTpass-phrase-0123"
    static var all: [String] { [inKey, outKey, password, token, watermarkKey, passphrase] }

    static func leaks(_ text: String) -> [String] { all.filter { text.contains($0) } }

    @Test(.timeLimit(.minutes(2)))
    func noSecretInAnyArtefactOfALiveRun() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-secrets")
        let nginx = try LiveServers.NginxRTMP(dir: dir)
        let speech = try WatermarkEndToEndTests.makeSpeech(dir)
        let rig = LiveRTMPTests.Rig(dir: dir, nginx: nginx, controlPort: LiveServers.freePort(), key: "", speech: speech)
        let publisher = try LiveServers.Background("ffmpeg", [
            "-v", "error", "-re", "-f", "lavfi", "-i", "color=c=0x808080:size=320x180:rate=25", "-stream_loop", "-1", "-i", rig.speech,
            "-t", "40", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", nginx.url("ingest", Self.inKey),
        ], log: dir + "/publisher.log")
        defer { publisher.stop(SIGKILL) }
        let output = "rtmp://opuser:\(Self.password)@127.0.0.1:\(nginx.port)/live/\(Self.outKey)"
        let args = ["run", "-v", "-i", nginx.url("ingest", Self.inKey), "-o", output,
                    "--listen", "127.0.0.1:\(rig.controlPort)", "--control-token", Self.token,
                    "--audit-log", dir + "/audit.jsonl", "--frame-log", dir + "/frames.csv", "--metrics-json", dir + "/metrics.json",
                    "--segments-out", dir + "/segments.json", "--read-timeout", "3", "--preset", "ultrafast"]
        // stdout kept too: through sh, which hands labelcast exactly these arguments.
        let lc = try LiveServers.Background("/bin/sh", ["-c", "exec \"$0\" \"$@\" > \(dir)/stdout.txt", TestSupport.labelcastBinary] + args,
                                            log: dir + "/stderr.txt", environment: ["LABELCAST_KEY": Self.watermarkKey])
        defer { lc.stop(SIGKILL) }
        let base = "http://127.0.0.1:\(rig.controlPort)"
        #expect(LiveRTMPTests.waitUntil(20) { (try? LiveServers.http("GET", base + "/synthetic", token: Self.token).status) == 200 }, "\(lc.log)")
        // Something to record: a switch on and off through the API, a scheduled segment.
        sleep(2)
        #expect(try LiveServers.http("PUT", base + "/synthetic", body: #"{"synthetic": true}"#, token: Self.token).status == 200)
        sleep(2)
        #expect(try LiveServers.http("PUT", base + "/synthetic", body: #"{"synthetic": false}"#, token: Self.token).status == 200)
        let answers = try [LiveServers.http("GET", base + "/metrics").body, LiveServers.http("GET", base + "/healthz").body,
                           LiveServers.http("GET", base + "/synthetic", token: Self.token).body]
        // A publisher drop and a reconnect: the lines that name the input URL.
        publisher.stop(SIGKILL)
        sleep(5)
        #expect(lc.stop(SIGTERM, timeout: 20) == 143, "\(lc.log)")
        let stderr = lc.log
        #expect(stderr.contains("rtmp://127.0.0.1:\(nginx.port)/ingest/***") || stderr.contains("ingest/***"),
                "the input appears, redacted: \(stderr.prefix(2000))")
        var artefacts: [String: String] = ["stderr": stderr, "/metrics /healthz /synthetic": answers.joined(separator: "\n")]
        for name in ["stdout.txt", "audit.jsonl", "frames.csv", "metrics.json", "segments.json"] {
            artefacts[name] = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
        }
        #expect(artefacts["audit.jsonl"]?.contains(#""event":"control""#) == true && artefacts["metrics.json"]?.isEmpty == false)
        for (name, text) in artefacts { #expect(Self.leaks(text).isEmpty, "\(name) shows \(Self.leaks(text))") }
        // Everything else labelcast left in the folder, byte for byte.
        for file in TestSupport.files(in: dir) where !["publisher.log", "nginx.conf", "nginx-error.log", "stderr.txt"].contains((file as NSString).lastPathComponent) {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            #expect(Self.leaks(text).isEmpty, "\(file) shows \(Self.leaks(text))")
        }
    }

    /// FFmpeg's own lines with -v (here an SRT caller with a passphrase and nobody to call)
    /// go through the same redaction as labelcast's.
    @Test(.timeLimit(.minutes(1)))
    func ffmpegLogLinesAreRedacted() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-secrets-srt")
        let url = "srt://127.0.0.1:\(LiveServers.freePort())?mode=caller&passphrase=\(Self.passphrase)&connect_timeout=1000"
        let r = try TestSupport.labelcast(["run", "-v", "-i", url, "-o", dir + "/out.ts", "--no-reconnect", "--read-timeout", "2"], timeout: 40)
        #expect(r.status >= 2, "\(r.stderr)")
        #expect(r.stderr.contains("passphrase=***"), "the URL appears redacted: \(r.stderr)")
        #expect(Self.leaks(r.stderr).isEmpty, "\(Self.leaks(r.stderr)): \(r.stderr)")
    }

    /// Secrets from the environment and files are not in the process list (`ps -o args`,
    /// /proc/PID/cmdline), and they are the ones used: the token from the file opens the API,
    /// the URLs from the environment carry the stream.
    @Test(.timeLimit(.minutes(2)))
    func secretsFromEnvironmentAndFilesStayOutOfPs() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-secrets-ps")
        let nginx = try LiveServers.NginxRTMP(dir: dir)
        let publisher = try LiveServers.Background("ffmpeg", [
            "-v", "error", "-re", "-f", "lavfi", "-i", "color=c=0x808080:size=320x180:rate=25",
            "-f", "lavfi", "-i", "sine=f=440:r=48000", "-t", "30", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", nginx.url("ingest", Self.inKey),
        ], log: dir + "/publisher.log")
        defer { publisher.stop(SIGKILL) }
        try "\(Self.token)\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        try "rtmp://opuser:\(Self.password)@127.0.0.1:\(nginx.port)/live/\(Self.outKey)\n".write(toFile: dir + "/output.url", atomically: true, encoding: .utf8)
        let port = LiveServers.freePort()
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "--output-file", dir + "/output.url", "--control-token-file", dir + "/token", "--listen", "127.0.0.1:\(port)",
            "--read-timeout", "3", "--preset", "ultrafast", "-q",
        ], log: dir + "/labelcast.log", environment: ["LABELCAST_INPUT": nginx.url("ingest", Self.inKey), "LABELCAST_KEY": Self.watermarkKey])
        defer { lc.stop(SIGKILL) }
        let base = "http://127.0.0.1:\(port)"
        #expect(LiveRTMPTests.waitUntil(20) { (try? LiveServers.http("GET", base + "/synthetic", token: Self.token).status) == 200 }, "\(lc.log)")
        #expect(try LiveServers.http("GET", base + "/synthetic").status == 401, "the token from the file is required")
        let recorded = dir + "/rec.flv"
        let recorder = try LiveServers.Background("ffmpeg", ["-v", "error", "-y", "-rw_timeout", "5000000", "-i", nginx.url("live", Self.outKey),
                                                            "-t", "2", "-c", "copy", recorded], log: dir + "/rec.log")
        defer { recorder.stop(SIGKILL) }
        let pid = lc.process.processIdentifier
        let ps = try TestSupport.run("ps", ["-o", "args=", "-p", String(pid)])
        let cmdline = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
        #expect(ps.stdoutText.contains("--output-file"), "ps shows the process: \(ps.stdoutText)")
        #expect(Self.leaks(ps.stdoutText).isEmpty, "ps -o args shows \(Self.leaks(ps.stdoutText)): \(ps.stdoutText)")
        #expect(Self.leaks(cmdline).isEmpty, "/proc/\(pid)/cmdline shows \(Self.leaks(cmdline))")
        #expect(LiveRTMPTests.waitUntil(20) { !recorder.process.isRunning }, "the labeled stream reached live/KEY2: \(lc.log)")
        #expect(try TestSupport.probe(recorded).contains { $0.codecType == "video" }, "\(lc.log)")
        #expect(lc.stop(SIGTERM, timeout: 20) == 143)
        #expect(Self.leaks(lc.log).isEmpty, "\(lc.log)")
    }
}
