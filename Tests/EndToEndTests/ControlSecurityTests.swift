import Foundation
import Testing
import TestSupport

/// The control API against a real `labelcast run` over real sockets (curl --path-as-is and
/// raw TCP on loopback): authentication by route whatever the path text, the exposed-listener
/// rules, the Host and Content-Type checks, and the limits that keep floods, slow and idle
/// clients from holding the server or the stream.
@Suite(.serialized) struct ControlSecurityTests {
    static let token = "control-sec-token-7f3a"

    /// A file read at its native rate for `seconds`, with the HTTP server on a free port.
    struct Run {
        let dir: String
        let port: Int
        let process: LiveServers.Background
        var base: String { "http://127.0.0.1:\(port)" }
        var audit: String { (try? String(contentsOfFile: dir + "/audit.jsonl", encoding: .utf8)) ?? "" }
    }

    static func start(_ name: String, seconds: Double = 40, extra: [String] = [], token: String? = ControlSecurityTests.token,
                      environment: [String: String]? = nil) throws -> Run {
        let dir = try TestSupport.temporaryDirectory("labelcast-ctl-\(name)")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: seconds, video: "testsrc2=size=160x120:rate=25")
        let port = LiveServers.freePort()
        var args = ["run", "-i", dir + "/in.mp4", "-o", dir + "/out.ts", "--realtime", "--listen", "127.0.0.1:\(port)",
                    "--audit-log", dir + "/audit.jsonl", "--no-watermark", "--preset", "ultrafast"]
        if let token { args += ["--control-token", token] }
        let p = try LiveServers.Background(TestSupport.labelcastBinary, args + extra, log: dir + "/labelcast.log", environment: environment)
        let run = Run(dir: dir, port: port, process: p)
        let ready = LiveRTMPTests.waitUntil(15) { (try? LiveServers.http("GET", run.base + "/synthetic", token: token).status) == 200 }
        guard ready else { throw TestFailure("labelcast did not start serving: \(p.log)") }
        return run
    }

    /// One curl call with the path sent exactly as written; returns status and body.
    static func curl(_ method: String, _ url: String, headers: [String] = [], body: String? = nil) throws -> (status: Int, body: String) {
        var args = ["-s", "--path-as-is", "-m", "5", "-X", method, "-o", "-", "-w", "\n%{http_code}"]
        if method == "HEAD" { args = ["-s", "--path-as-is", "-m", "5", "-I", "-o", "-", "-w", "\n%{http_code}"] }
        for h in headers { args += ["-H", h] }
        if let body { args += ["--data-binary", body] }
        // A 429 says nothing about what is being tested here: wait for the bucket and ask again.
        for _ in 0..<20 {
            let r = try TestSupport.run("curl", args + [url], timeout: 10)
            var lines = r.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let code = Int(lines.popLast() ?? "") ?? 0
            if code == 429 { usleep(500_000); continue }
            return (code, lines.joined(separator: "\n"))
        }
        return (429, "")
    }

    // MARK: Authentication by route

    /// Issue 15 item 1: with a token, no spelling of a control path and no method switches or
    /// reads the schedule without it. 11cc5ea answered `PUT //synthetic` 200 and switched.
    @Test(.timeLimit(.minutes(2)))
    func noPathSpellingOrMethodBypassesTheToken() throws {
        let run = try Self.start("auth")
        defer { run.process.stop() }
        let paths = ["/synthetic", "//synthetic", "///synthetic", "/./synthetic", "/%73ynthetic", "/%2Fsynthetic", "/SYNTHETIC",
                     "/Synthetic", "/synthetic/", "/synthetic//", "/synthetic/.", "/x/../synthetic", "/metrics/../synthetic",
                     "/healthz/../synthetic", "/synthetic?x=1", "/synthetic;x", "/segments", "//segments", "/./segments",
                     "/%73egments", "/segments/", "/SEGMENTS", "//segments//", "/metrics/../segments"]
        let methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]
        var answered: [String] = []
        for path in paths {
            for method in methods {
                let body = path.lowercased().contains("segments") ? #"{"start": 1000, "end": 1001}"# : #"{"synthetic": true}"#
                let writes = ["PUT", "POST", "PATCH", "DELETE"].contains(method)
                let r = try Self.curl(method, run.base + path, headers: writes ? ["Content-Type: application/json"] : [],
                                      body: writes ? body : nil)
                if ![401, 404, 405].contains(r.status) || r.body.contains("media_time") || r.body.contains("schedule") {
                    answered.append("\(method) \(path) -> \(r.status) \(r.body.prefix(120))")
                }
            }
        }
        #expect(answered.isEmpty, "answered without the token: \(answered)")
        // Nothing was switched or scheduled: the state (read with the token) and the audit log.
        let state = try LiveServers.http("GET", run.base + "/synthetic", token: Self.token)
        #expect(state.status == 200 && state.body.contains(#""synthetic":false"#) && state.body.contains(#""schedule":[]"#), "\(state.body)")
        #expect(!run.audit.contains(#""event":"control""#), "a control call got through: \(run.audit)")
        // The open routes stay open; a wrong token is refused like none.
        #expect(try Self.curl("GET", run.base + "/metrics").status == 200)
        #expect(try Self.curl("GET", run.base + "/healthz").status == 200)
        #expect(try Self.curl("GET", run.base + "//synthetic", headers: ["Authorization: Bearer wrong-token-123"]).status == 401)
        // And with the token, the normalised spellings reach the route (the router matched them).
        let withToken = try Self.curl("GET", run.base + "//synthetic", headers: ["Authorization: Bearer \(Self.token)"])
        #expect([200, 404].contains(withToken.status))
    }

    // MARK: Host and Content-Type

    /// DNS rebinding (a page on another name that resolves to 127.0.0.1) and cross-site simple
    /// POSTs (text/plain needs no CORS preflight), here on a run with no token at all.
    @Test(.timeLimit(.minutes(2)))
    func hostHeaderAndContentTypeAreChecked() throws {
        let run = try Self.start("host", extra: ["--allowed-host", "cam1.example.net"], token: nil)
        defer { run.process.stop() }
        let put = #"{"synthetic": true}"#
        for host in ["evil.example", "evil.example:\(run.port)", "127.0.0.1.nip.io", "localhost.evil.example"] {
            let r = try Self.curl("PUT", run.base + "/synthetic", headers: ["Host: \(host)", "Content-Type: application/json"], body: put)
            #expect(r.status == 403, "Host \(host): \(r.status) \(r.body)")
            #expect(try Self.curl("GET", run.base + "/synthetic", headers: ["Host: \(host)"]).status == 403)
            #expect(try Self.curl("GET", run.base + "/metrics", headers: ["Host: \(host)"]).status == 403)
        }
        for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"] {
            let r = try Self.curl("PUT", run.base + "/synthetic", headers: ["Content-Type: \(type)"], body: put)
            #expect(r.status == 415, "\(type): \(r.status) \(r.body)")
            #expect(try Self.curl("POST", run.base + "/segments", headers: ["Content-Type: \(type)"], body: #"{"start": 900}"#).status == 415)
        }
        #expect(try Self.curl("PUT", run.base + "/synthetic", body: put).status == 415, "no Content-Type at all")
        let state = try Self.curl("GET", run.base + "/synthetic")
        #expect(state.body.contains(#""synthetic":false"#) && !run.audit.contains(#""event":"control""#), "\(state.body) \(run.audit)")
        // What is allowed: IP literals, localhost names, --allowed-host.
        for host in ["127.0.0.1:\(run.port)", "localhost:\(run.port)", "LOCALHOST", "cam1.example.net", "cam1.example.net.:\(run.port)", "[::1]:\(run.port)"] {
            #expect(try Self.curl("GET", run.base + "/synthetic", headers: ["Host: \(host)"]).status == 200, "Host \(host)")
        }
        // Small answers: a POST answers what it added, the schedule is GET's.
        let post = try Self.curl("POST", run.base + "/segments", headers: ["Content-Type: application/json"], body: #"{"start": 900, "end": 901}"#)
        #expect(post.status == 201 && post.body.contains(#""added""#) && !post.body.contains("schedule"), "\(post.body)")
        #expect(try Self.curl("GET", run.base + "/synthetic").body.contains(#""start":900"#))
        let on = try Self.curl("PUT", run.base + "/synthetic", headers: ["Content-Type: application/json; charset=utf-8"], body: put)
        #expect(on.status == 200 && on.body.contains(#""synthetic":true"#) && !on.body.contains("schedule"), "\(on.body)")
    }

    // MARK: Exposed listener

    @Test func nonLoopbackWithoutATokenRefusesToStart() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-ctl-exposed")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 1)
        for listen in ["0.0.0.0:0", "[::]:0", "192.0.2.10:9090"] {
            let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mp4", "-o", dir + "/out.mp4", "--listen", listen, "-q"],
                                              environment: ["LABELCAST_CONTROL_TOKEN": ""].filter { _ in false }, timeout: 30)
            #expect(r.status == 2, "--listen \(listen): exit \(r.status) \(r.stderr)")
            #expect(r.errorLines.count == 1 && r.stderr.contains("--insecure-no-token") && r.stderr.contains("token"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/out.mp4"))
        }
        // Short tokens, from every source.
        try "short12\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        let sources: [(args: [String], env: [String: String], says: String)] = [
            (["--control-token", "abc1234"], [:], "--control-token"),
            (["--control-token-file", dir + "/token"], [:], "--control-token-file"),
            ([], ["LABELCAST_CONTROL_TOKEN": "abc1234"], "LABELCAST_CONTROL_TOKEN"),
        ]
        for s in sources {
            let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mp4", "-o", dir + "/out.mp4", "--listen", "127.0.0.1:0"] + s.args,
                                              environment: s.env, timeout: 30)
            #expect(r.status >= 2 && r.errorLines.count == 1 && r.stderr.contains(s.says) && r.stderr.contains("at least 8"), "\(s): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/out.mp4"))
        }
    }

    /// `--insecure-no-token` starts, and says so at every start even under -q.
    @Test func insecureNoTokenWarnsEvenWhenQuiet() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-ctl-insecure")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 1)
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mp4", "-o", dir + "/out.mp4", "--listen", "0.0.0.0:0",
                                           "--insecure-no-token", "-q"], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.errorLines.count == 1 && r.stderr.contains("warning") && r.stderr.contains("no token"), "\(r.stderr)")
    }

    // MARK: Limits

    /// Per-client rate (429, Retry-After), `/healthz` exempt; writes from all clients bounded,
    /// so a toggle flood adds a bounded amount to the audit log.
    @Test(.timeLimit(.minutes(2)))
    func rateLimitsAnswer429AndBoundTheAuditLog() throws {
        let run = try Self.start("rate")
        defer { run.process.stop() }
        /// `n` requests, 50 at a time over their own connections (refusals come after a 1 s tarpit).
        func burst(_ n: Int, _ path: String, extra: [String] = []) throws -> [Int] {
            var args = ["-s", "--parallel", "--parallel-max", "50", "-w", "%{http_code}\n", "-H", "Authorization: Bearer \(Self.token)"] + extra
            for _ in 0..<n { args += ["-o", "/dev/null", run.base + path] }
            return try TestSupport.run("curl", args, timeout: 60).stdoutText.split(separator: "\n").compactMap { Int($0) }
        }
        let readStart = Date()
        let reads = try burst(200, "/synthetic")
        let readSeconds = Date().timeIntervalSince(readStart)
        #expect(reads.count == 200 && reads.contains(429) && reads.filter { $0 == 200 }.count >= 30, "\(reads)")
        #expect(Double(reads.filter { $0 == 200 }.count) <= 40 + 20 * readSeconds + 5, "\(reads.filter { $0 == 200 }.count) reads in \(readSeconds) s")
        let health = try burst(200, "/healthz")
        #expect(health.allSatisfy { $0 == 200 }, "healthz is not rate limited: \(Set(health))")
        let auditBefore = run.audit.utf8.count
        sleep(3)  // let the buckets refill
        let started = Date()
        var toggles: [Int] = []
        for i in 0..<4 {
            toggles += try burst(100, "/synthetic", extra: ["-X", "PUT", "-H", "Content-Type: application/json", "--data-binary",
                                                            i % 2 == 0 ? #"{"synthetic": true}"# : #"{"synthetic": false}"#])
        }
        let seconds = Date().timeIntervalSince(started)
        let accepted = toggles.filter { $0 == 200 }.count
        #expect(toggles.contains(429), "\(Set(toggles))")
        // 20 burst + 10/s: the bound the audit log can grow by, whatever the flood.
        #expect(Double(accepted) <= 20 + 10 * seconds + 5, "\(accepted) writes accepted in \(seconds) s")
        let growth = run.audit.utf8.count - auditBefore
        #expect(Double(growth) <= (20 + 10 * seconds + 5) * 300, "audit log grew by \(growth) bytes for \(accepted) writes")
    }

    /// Slow-loris: 200 connections that trickle a request head a byte a second are all closed
    /// within the 5 s read deadline (+2 s slack); the stream keeps going meanwhile.
    @Test(.timeLimit(.minutes(2)))
    func slowLorisConnectionsAreClosedInBoundedTime() throws {
        let run = try Self.start("loris")
        defer { run.process.stop() }
        let framesBefore = try Self.framesWritten(run)
        let clients = try RawClients(port: run.port, count: 200)
        defer { clients.closeAll() }
        let head = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ".utf8)
        let started = Date()
        var step = 0
        while clients.openCount > 0 && Date().timeIntervalSince(started) < 15 {
            clients.sendToOpen([head[step % head.count]])
            step += 1
            clients.pollClosed(waitMilliseconds: 1000)
        }
        let closedBy = Date().timeIntervalSince(started)
        #expect(clients.openCount == 0, "\(clients.openCount) of 200 slow connections still open after \(closedBy) s")
        #expect(closedBy <= 8, "closed after \(closedBy) s")
        #expect(clients.latestClose <= 8, "last close at \(clients.latestClose) s")
        #expect(try Self.curl("GET", run.base + "/healthz").status == 200)
        #expect(try Self.framesWritten(run) > framesBefore, "the stream stopped during the flood")
    }

    /// 1100 idle connections (more than the 1024 descriptors systemd gives a service): the
    /// server keeps its descriptors bounded, answers `/healthz` throughout, refuses other
    /// requests past the limit with 503, and has closed every idle connection within 8 s.
    @Test(.timeLimit(.minutes(2)))
    func idleConnectionFloodIsBoundedAndHealthzStillAnswers() throws {
        let run = try Self.start("idle")
        defer { run.process.stop() }
        let pid = run.process.process.processIdentifier
        func descriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }
        let baseline = descriptors()
        let framesBefore = try Self.framesWritten(run)
        let clients = try RawClients(port: run.port, count: 1100)
        defer { clients.closeAll() }
        let started = Date()
        var maxDescriptors = 0
        var health: [Int] = []
        var other: [Int] = []
        while Date().timeIntervalSince(started) < 10 {
            maxDescriptors = max(maxDescriptors, descriptors())
            if health.count < 8 {
                health.append(try Self.curl("GET", run.base + "/healthz").status)
                other.append(try Self.curl("GET", run.base + "/metrics").status)
            }
            clients.pollClosed(waitMilliseconds: 200)
            if clients.openCount == 0 { break }
        }
        let drained = Date().timeIntervalSince(started)
        #expect(maxDescriptors - baseline <= 140, "descriptors grew from \(baseline) to \(maxDescriptors)")
        #expect(health.allSatisfy { $0 == 200 }, "/healthz under the flood: \(health)")
        #expect(other.allSatisfy { [200, 503].contains($0) } && other.contains(503), "/metrics under the flood: \(other)")
        #expect(clients.openCount == 0 && drained <= 8, "\(clients.openCount) idle connections open after \(drained) s (last close at \(clients.latestClose) s)")
        #expect(try Self.curl("GET", run.base + "/metrics").status == 200, "serves normally once the flood is gone")
        #expect(try Self.framesWritten(run) > framesBefore, "the stream stopped during the flood")
    }

    /// Clients without the token, on the operator's own address (same host, same proxy or
    /// NAT), hold every connection slot and flood the API with writes: the operator's calls
    /// with the token still get through at the first attempt (no retry on 429/503 here), and
    /// nothing without the token is ever accepted or switches anything.
    @Test(.timeLimit(.minutes(2)))
    func theTokenGetsThroughAFloodFromTheSameAddress() throws {
        let run = try Self.start("operator")
        defer { run.process.stop() }
        let idle = try RawClients(port: run.port, count: 300)
        defer { idle.closeAll() }
        // 3000 unauthenticated toggles, 60 at a time on their own connections, for the whole test.
        var args = ["-s", "--parallel", "--parallel-max", "60", "-w", "%{stderr}%{http_code}\n", "-X", "PUT",
                    "-H", "Content-Type: application/json", "--data-binary", #"{"synthetic": true}"#]
        for _ in 0..<3000 { args += ["-o", "/dev/null", run.base + "/synthetic"] }
        let floodLog = run.dir + "/flood.txt"
        let flood = try LiveServers.Background("/usr/bin/curl", args, log: floodLog)
        defer { flood.stop() }
        sleep(2)
        var answers: [Int] = []
        var states: [Bool] = []
        for i in 0..<8 {
            let want = i % 2 == 0
            let r = try TestSupport.run("curl", ["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                                                 "-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Type: application/json",
                                                 "--data-binary", #"{"synthetic": \#(want)}"#, run.base + "/synthetic"], timeout: 10)
            answers.append(Int(r.stdoutText) ?? 0)
            let g = try TestSupport.run("curl", ["-s", "-m", "5", "-H", "Authorization: Bearer \(Self.token)", run.base + "/synthetic"], timeout: 10)
            if let o = try? JSONSerialization.jsonObject(with: Data(g.stdoutText.utf8)) as? [String: Any], let v = o["synthetic"] as? Bool {
                states.append(v)
            }
            idle.pollClosed(waitMilliseconds: 300)
        }
        flood.stop()
        let floodCodes = ((try? String(contentsOfFile: floodLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int($0) }
        #expect(answers == Array(repeating: 200, count: 8), "the operator's writes under the flood: \(answers)")
        #expect(states == (0..<8).map { $0 % 2 == 0 }, "the state after each of the operator's writes: \(states)")
        #expect(floodCodes.count > 100, "the flood did not run: \(floodCodes.count) answers")
        #expect(!floodCodes.contains { (200..<300).contains($0) }, "a write without the token was accepted: \(Set(floodCodes))")
        #expect(Set(floodCodes).isSubset(of: [0, 401, 429, 503]), "\(Set(floodCodes))")
        // The audit log names only the operator's eight switches (the flood's were refused).
        let switches = run.audit.split(separator: "\n").filter { $0.contains(#""event":"control""#) }
        #expect(switches.count == 8, "\(switches.count) control events in the audit log")
    }

    /// `/metrics` carries the standard process metrics, and they agree with what the kernel
    /// says of that process (/proc/PID read by the test, another path than labelcast's).
    @Test(.timeLimit(.minutes(1)))
    func processMetricsAgreeWithProc() throws {
        let started = Date().timeIntervalSince1970
        let run = try Self.start("proc", seconds: 20)
        defer { run.process.stop() }
        sleep(2)
        let pid = run.process.process.processIdentifier
        let text = try Self.curl("GET", run.base + "/metrics").body
        func value(_ name: String) -> Double? {
            text.split(whereSeparator: \.isNewline).first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let vmRSS = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Double($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }) * 1024
        let rss = try #require(value("process_resident_memory_bytes"), "\(text.suffix(800))")
        #expect(abs(rss - vmRSS) / vmRSS < 0.15, "process_resident_memory_bytes \(rss) vs VmRSS \(vmRSS)")
        let fds = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1)
        #expect(abs((value("process_open_fds") ?? -100) - fds) <= 8, "process_open_fds \(value("process_open_fds") ?? -1) vs \(fds)")
        let start = try #require(value("process_start_time_seconds"))
        #expect(start >= started - 2 && start <= Date().timeIntervalSince1970, "process_start_time_seconds \(start), test started \(started)")
        let cpu = try #require(value("process_cpu_seconds_total"))
        #expect(cpu > 0 && cpu < 2 * (Date().timeIntervalSince1970 - started) + 1, "process_cpu_seconds_total \(cpu)")
        #expect(text.contains("# TYPE process_cpu_seconds_total counter") && text.contains("# TYPE process_resident_memory_bytes gauge"))
    }

    /// Issue 16: every read of the run's live numbers (each `GET /healthz` and `/metrics`) grew
    /// a chain of closure thunks by one (32 bytes leaked per call, and each call walked the
    /// whole chain), so a scraper made every later scrape slower and the process bigger,
    /// without bound. `/healthz` is exempt from the rate limit, so 20 000 of them take seconds:
    /// the answer time of 1000 requests after them must stay within twice that of 1000 before
    /// (RSS from /proc/PID/status is reported, not checked: a debug build on a busy machine
    /// grew 4.4 MB with the fix, from warm-up and frame pools). Release builds, one connection:
    /// c6c6336 took 7.5 ms a request after 40 000 instead of 0.4, RSS +16 MB, and died after
    /// ~44 000; with the fix 60 000 took 30 s, 1000 after them 0.48 s against 0.40 s before,
    /// RSS +1.4 MB.
    /// Opt-in (`LABELCAST_SCRAPE_TEST=1`): its timing check needs a quiet machine; beside
    /// make test's other two processes on 2 cores a debug build failed it with the fix in
    /// (1000 requests 1.0 s before, 2.5 s after; once half of them unanswered), so it is not
    /// in `make test`. Run it alone on a release build: `LABELCAST_BIN=.build-rel/release/labelcast`.
    @Test(.timeLimit(.minutes(3)), .enabled(if: ProcessInfo.processInfo.environment["LABELCAST_SCRAPE_TEST"] == "1"))
    func scrapesDoNotGetSlowerOrBigger() throws {
        let run = try Self.start("scrape", seconds: 120, token: nil)
        defer { run.process.stop() }
        let pid = run.process.process.processIdentifier
        func rssKB() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            return status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? -1
        }
        func timed(_ n: Int) throws -> Double {
            let t = Date()
            let answered = try Self.pipelinedHealthz(port: run.port, count: n)
            guard answered == n else { throw TestFailure("\(answered) of \(n) /healthz answered: \(run.process.log.suffix(600))") }
            return Date().timeIntervalSince(t)
        }
        _ = try timed(2000)   // warm-up: connections, code paths, allocator
        let rss0 = rssKB()
        let before = try timed(1000)
        for _ in 0..<10 { _ = try timed(2000) }
        let after = try timed(1000)
        let rss1 = rssKB()
        #expect(run.process.process.isRunning, "labelcast ended: \(run.process.log.suffix(600))")
        #expect(after < 2 * before + 0.3,
                "1000 /healthz took \(before) s, and \(after) s after 20 000 more (RSS \(rss0) → \(rss1) kB)")
    }

    /// Sends `count` pipelined `GET /healthz` on one connection, 500 at a time; returns how
    /// many answers came back.
    static func pipelinedHealthz(port: Int, count: Int) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw TestFailure("connect(): \(String(cString: strerror(errno)))") }
        let marker = Array("HTTP/1.1 ".utf8)
        var answered = 0
        var carry: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while answered < count {
            let batch = min(500, count - answered)
            let request = Array(String(repeating: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", count: batch).utf8)
            var sent = 0
            while sent < request.count {
                let r = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard r > 0 else { return answered }
                sent += r
            }
            let goal = answered + batch
            while answered < goal {
                let r = recv(fd, &buffer, buffer.count, 0)
                guard r > 0 else { return answered }
                // Count answer starts; keep the tail that could hold a marker cut in two.
                let bytes = carry + buffer[0..<r]
                var i = 0
                while i + marker.count <= bytes.count {
                    if bytes[i] == marker[0] && Array(bytes[i..<(i + marker.count)]) == marker { answered += 1; i += marker.count } else { i += 1 }
                }
                carry = Array(bytes.suffix(marker.count - 1))
            }
        }
        return answered
    }

    static func framesWritten(_ run: Run) throws -> Int {
        let h = try Self.curl("GET", run.base + "/healthz")
        guard let data = h.body.data(using: .utf8), let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return -1 }
        return (o["frames_written"] as? Int) ?? -1
    }
}

/// Many raw TCP connections to a loopback port, opened without blocking, for the flood tests.
final class RawClients {
    private var fds: [Int32] = []
    private var closedAt: [Double?] = []
    private let started = Date()

    init(port: Int, count: Int) throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < rlim_t(count + 256) {
            limit.rlim_cur = min(limit.rlim_max, rlim_t(count + 256))
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket(): \(String(cString: strerror(errno)))") }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            fds.append(fd)
            closedAt.append(nil)
        }
    }

    var openCount: Int { closedAt.filter { $0 == nil }.count }
    /// Seconds from the start to the last close seen.
    var latestClose: Double { closedAt.compactMap { $0 }.max() ?? 0 }

    func sendToOpen(_ bytes: [UInt8]) {
        for (i, fd) in fds.enumerated() where closedAt[i] == nil {
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Waits up to `waitMilliseconds` for any connection to be closed by the server (EOF,
    /// reset, or an answer followed by EOF), and marks those.
    func pollClosed(waitMilliseconds: Int32) {
        let deadline = Date().addingTimeInterval(Double(waitMilliseconds) / 1000)
        repeat {
            var polls = fds.enumerated().filter { closedAt[$0.offset] == nil }.map { pollfd(fd: $0.element, events: Int16(POLLIN), revents: 0) }
            if polls.isEmpty { return }
            let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            let n = poll(&polls, nfds_t(polls.count), left)
            guard n > 0 else { return }
            for p in polls where p.revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                var ended = p.revents & Int16(POLLHUP | POLLERR) != 0
                while true {
                    let r = recv(p.fd, &buffer, buffer.count, 0)
                    if r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { ended = true; break }
                    if r < 0 { break }
                }
                if ended, let i = fds.firstIndex(of: p.fd) { closedAt[i] = Date().timeIntervalSince(started) }
            }
        } while Date() < deadline
    }

    func closeAll() {
        for fd in fds { close(fd) }
        fds.removeAll()
    }
}
