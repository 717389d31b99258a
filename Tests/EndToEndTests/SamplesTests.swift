import Foundation
import Testing
import TestSupport

/// The deployment samples in Samples/, run for real: nginx started on Samples/nginx-rtmp.conf
/// itself (only ports and paths rewritten to run in a temp folder), an ffmpeg encoder publishing
/// to `ingest-ai`, the labelcast that nginx-rtmp starts with exec_push, and an ffmpeg player of
/// `live`; and the command line of Samples/labelcast@.service with Samples/labelcast-cam1.env.
@Suite(.serialized) struct SamplesTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Samples").path

    /// Replaces every occurrence of each key; a key that does not occur is a failure (the sample
    /// changed under the test, which would otherwise run something else than the sample).
    static func rewrite(_ text: String, _ replacements: KeyValuePairs<String, String>) throws -> String {
        var out = text
        for (from, to) in replacements {
            guard out.contains(from) else { throw TestFailure("the sample no longer contains '\(from)'") }
            out = out.replacingOccurrences(of: from, with: to)
        }
        return out
    }

    /// Every process below `root` (nginx workers and the labelcast processes they started),
    /// taken before nginx stops: once a worker is gone, its children no longer point at it.
    static func descendants(of root: pid_t) -> [pid_t] {
        guard let ps = try? TestSupport.run("ps", ["-e", "-o", "pid=,ppid="], timeout: 10) else { return [] }
        var children: [pid_t: [pid_t]] = [:]
        for line in ps.stdoutText.split(whereSeparator: \.isNewline) {
            let f = line.split(separator: " ").compactMap { pid_t($0) }
            if f.count == 2 { children[f[1], default: []].append(f[0]) }
        }
        var found: [pid_t] = [], queue = [root]
        while let p = queue.popLast() { for c in children[p] ?? [] { found.append(c); queue.append(c) } }
        return found
    }

    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        // A zombie is dead for our purposes.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// The payload id given in one application's exec_push line, as `labelcast detect` prints it.
    static func payloadID(in conf: String, application: String) throws -> String {
        let block = try #require(conf.components(separatedBy: "application \(application) {").dropFirst().first?
            .components(separatedBy: "application ").first, "no application \(application) in the sample")
        let match = try #require(block.firstMatch(of: /--payload-id\s+(\S+)/), "no --payload-id in \(application)")
        let text = String(match.1).lowercased()
        let value = try #require(text.hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text))
        return String(format: "0x%08X", value)
    }

    @Test(.timeLimit(.minutes(1)))
    func nginxSampleLabelsEveryFrameOfAnIngestAIStream() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-samples")
        let port = LiveServers.freePort()
        let key = try WatermarkEndToEndTests.writeKey(dir)
        let speech = try WatermarkEndToEndTests.makeSpeech(dir)
        let sample = try String(contentsOfFile: Self.samples + "/nginx-rtmp.conf", encoding: .utf8)

        // The sample as it is, but on a free loopback port, with the built labelcast and every
        // file in the temp folder.
        var conf = try Self.rewrite(sample, [
            "listen 1935;": "listen 127.0.0.1:\(port);",
            "rtmp://127.0.0.1:1935/": "rtmp://127.0.0.1:\(port)/",
            "/usr/local/bin/labelcast": TestSupport.labelcastBinary,
            "/etc/labelcast/watermark.key": key,
            "/var/log/labelcast/": dir + "/",
            "/var/log/nginx/": dir + "/",
            "/run/nginx-rtmp.pid": dir + "/nginx.pid",
        ])
        let debianModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
        if !FileManager.default.fileExists(atPath: debianModule) {
            let other = try #require(["/usr/share/nginx/modules/ngx_rtmp_module.so", "/usr/local/nginx/modules/ngx_rtmp_module.so"]
                .first { FileManager.default.fileExists(atPath: $0) }, "nginx RTMP module not installed (make test installs libnginx-mod-rtmp)")
            conf = conf.replacingOccurrences(of: debianModule, with: other)
        }
        // Under `make asan`/`make tsan`, the sanitizer settings reach the labelcast nginx starts
        // (nginx passes on only the variables an `env` line names).
        for name in ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"] where ProcessInfo.processInfo.environment[name] != nil {
            conf = "env \(name);\n" + conf
        }
        try conf.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        // As root, the workers and so labelcast run as the sample's `user` (www-data): give it
        // the folder, as /var/log/labelcast is given to it in production.
        if geteuid() == 0, let user = sample.firstMatch(of: /^\s*user\s+([^\s;]+)\s*;/.anchorsMatchLineEndings())?.1, let pw = getpwnam(String(user)) {
            #expect(chown(dir, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0)
        }

        let nginx = try LiveServers.Background((try? TestSupport.which("nginx")) ?? "/usr/sbin/nginx",
                                               ["-p", dir + "/", "-c", dir + "/nginx.conf", "-g", "daemon off;"],
                                               log: dir + "/nginx.stderr")
        // Stop nginx and everything it started, whatever happens below.
        defer {
            let family = Self.descendants(of: nginx.process.processIdentifier)
            nginx.stop(SIGTERM, timeout: 10)
            let deadline = Date().addingTimeInterval(10)
            while family.contains(where: Self.isAlive) && Date() < deadline { usleep(100_000) }
            for pid in family where Self.isAlive(pid) { kill(pid, SIGKILL) }
        }
        let errorLog = dir + "/rtmp-error.log"
        func nginxLogs() -> String { nginx.log + ((try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? "") }
        try #require(LiveRTMPTests.waitUntil(10) { LiveServers.canConnect(port: port) }, "nginx is not listening: \(nginxLogs())")

        let name = "cam1"
        let auditPath = dir + "/\(name).jsonl", labelcastLog = dir + "/\(name).log"
        func audit() -> [[String: Any]] {
            ((try? String(contentsOfFile: auditPath, encoding: .utf8)) ?? "").split(whereSeparator: \.isNewline)
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        func labelcastStderr() -> String { (try? String(contentsOfFile: labelcastLog, encoding: .utf8)) ?? "(no \(labelcastLog))" }

        // 10 s of a flat grey 640x360 25 fps picture with speech over a quiet chord (the audio
        // never falls silent: silence carries no mark), at its native rate, to ingest-ai/NAME.
        let publisher = try LiveServers.Background("ffmpeg", [
            "-v", "error", "-re", "-f", "lavfi", "-i", "color=c=0x808080:size=640x360:rate=25",
            "-stream_loop", "-1", "-i", speech,
            "-f", "lavfi", "-i", "aevalsrc=0.05*sin(2*PI*220*t)+0.04*sin(2*PI*277*t)+0.04*sin(2*PI*330*t):s=48000:c=stereo",
            "-filter_complex", "[1:a][2:a]amix=inputs=2:duration=first:normalize=0[a]",
            "-t", "10", "-map", "0:v", "-map", "[a]",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-f", "flv", "rtmp://127.0.0.1:\(port)/ingest-ai/\(name)",
        ], log: dir + "/publisher.log")
        defer { publisher.stop(SIGKILL) }

        // nginx-rtmp starts labelcast for the new stream; once it labels pictures, a viewer
        // joins live/NAME. (nginx-rtmp keeps a player on after the stream ends: the viewer
        // stops 5 s later, on -rw_timeout, and then finishes its file.)
        let labeling = LiveRTMPTests.waitUntil(20) {
            audit().contains { $0["event"] as? String == "segment_start" && $0["lane"] as? String == "video" }
        }
        try #require(labeling, "labelcast did not start labeling: \(labelcastStderr())\n\(nginxLogs())")
        let rec = dir + "/rec.flv"
        let recorder = try LiveServers.Background("ffmpeg", ["-v", "error", "-y", "-rw_timeout", "5000000",
                                                             "-i", "rtmp://127.0.0.1:\(port)/live/\(name)", "-c", "copy", rec],
                                                  log: dir + "/recorder.log")
        defer { recorder.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(20) { !publisher.process.isRunning }, "the publisher did not finish")
        #expect(publisher.process.terminationStatus == 0, "publisher: \(publisher.log)")

        // The publisher left: nginx-rtmp stops its labelcast with SIGTERM (exec_kill_signal term),
        // which finishes the output and closes the audit log with run_end.
        #expect(LiveRTMPTests.waitUntil(15) { audit().last?["event"] as? String == "run_end" },
                "labelcast did not finish: \(labelcastStderr())\n\(nginxLogs())")
        let events = audit()
        #expect(events.first?["event"] as? String == "run_start")
        #expect(events.first?["resolved_mode"] as? String == "all", "\(events.first ?? [:])")
        #expect(events.last?["interrupted"] as? Bool == true, "stopped by nginx's SIGTERM: \(events.last ?? [:])")
        #expect(!labelcastStderr().contains("error:"), "labelcast: \(labelcastStderr())")
        #expect(nginxLogs().contains("exec: starting managed child"))
        #expect(LiveRTMPTests.waitUntil(15) { !recorder.process.isRunning }, "the viewer did not end")

        // Every frame the viewer got carries the visible label…
        let frames = try LiveRTMPTests.labeledByTime(rec)
        #expect(frames.count > 50, "recorded \(frames.count) frames; recorder: \(recorder.log)\n\(labelcastStderr())")
        let unlabeled = frames.filter { !$0.labeled }.map(\.pts)
        #expect(unlabeled.isEmpty, "\(unlabeled.count) unlabeled frames, from \(unlabeled.prefix(5))")
        // …its audio the watermark with the payload id of ingest-ai, read with the key…
        let detect = try TestSupport.labelcast(["detect", rec, "--key-file", key, "--json"])
        #expect(detect.status == 0, "\(detect.stderr)")
        let found = try JSONDecoder().decode(WatermarkEndToEndTests.Found.self, from: detect.stdout)
        let segment = try #require(found.segments.first, "no watermark found: \(detect.stdoutText)")
        #expect(segment.payload == (try Self.payloadID(in: sample, application: "ingest-ai")))
        #expect(segment.end - segment.start > 3, "\(detect.stdoutText)")
        // …and the stream's metadata the AIGC tag (kept for players by `meta copy` in `live`).
        let tags = try TestSupport.probeFormat(rec).tags
        #expect(tags["AIGC"]?.contains(#""Label":"1""#) == true, "format tags: \(tags)")
    }

    /// The systemd sample's command line, as systemd would run it for labelcast@cam1 with
    /// Samples/labelcast-cam1.env: every variable it uses is defined there, and labelcast takes
    /// the options (on a short file instead of the RTMP input, with paths in a temp folder).
    @Test(.timeLimit(.minutes(1)))
    func systemdSampleCommandLineRuns() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-samples")
        let unit = try String(contentsOfFile: Self.samples + "/labelcast@.service", encoding: .utf8)
            .replacingOccurrences(of: "\\\n", with: " ")
        let execStart = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }?.dropFirst("ExecStart=".count))
        var env: [String: String] = [:]
        for line in try String(contentsOfFile: Self.samples + "/labelcast-cam1.env", encoding: .utf8).split(separator: "\n")
        where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1)
            env[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        #expect(env["LABELCAST_CONTROL_TOKEN"] != nil, "the token comes from the environment file")
        // What differs from a real host: the input, the output, a free port, the folders.
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try TestSupport.makeMedia(input, seconds: 3)
        #expect(env["LABELCAST_INPUT"] != nil && env["LABELCAST_OUTPUT"] != nil, "the URLs come from the environment file")
        #expect(!execStart.contains(" -i ") && !execStart.contains(" -o "), "no URL on the command line: \(execStart)")
        env["LABELCAST_INPUT"] = input
        env["LABELCAST_OUTPUT"] = output
        env["LISTEN"] = "127.0.0.1:\(LiveServers.freePort())"
        _ = try WatermarkEndToEndTests.writeKey(dir)
        try FileManager.default.moveItem(atPath: dir + "/wm.key", toPath: dir + "/watermark.key")
        func paths(_ word: String) -> String {
            word.replacingOccurrences(of: "/var/log/labelcast/", with: dir + "/")
                .replacingOccurrences(of: "%i", with: "cam1").replacingOccurrences(of: "%d", with: dir)
        }
        // systemd's expansion: ${VAR} is one word, a lone $VAR is split on spaces into zero or more.
        var words: [String] = []
        for word in execStart.split(separator: " ").map(String.init) {
            if let whole = word.wholeMatch(of: /\$([A-Za-z_][A-Za-z0-9_]*)/) {
                let value = try #require(env[String(whole.1)], "$\(whole.1) is not in labelcast-cam1.env")
                words += value.split(separator: " ").map { paths(String($0)) }
                continue
            }
            var expanded = word
            for match in word.matches(of: /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/) {
                let value = try #require(env[String(match.1)], "${\(match.1)} is not in labelcast-cam1.env")
                expanded = expanded.replacingOccurrences(of: String(match.0), with: value)
            }
            words.append(paths(expanded))
        }
        #expect(words.first == "/usr/local/bin/labelcast")
        let run = try TestSupport.labelcast(Array(words.dropFirst()), environment: env, timeout: 50)
        #expect(run.status == 0, "labelcast \(words.dropFirst().joined(separator: " ")): \(run.stderr)")
        #expect(run.errorLines.isEmpty, "--quiet prints nothing on success: \(run.stderr)")
        let audit = try String(contentsOfFile: dir + "/cam1.jsonl", encoding: .utf8)
        #expect(audit.contains(#""event":"run_end""#))
        #expect(!audit.contains("test key 0123") && !run.stderr.contains(env["LABELCAST_CONTROL_TOKEN"] ?? "-"))
        #expect(FileManager.default.fileExists(atPath: output))
    }
}
