import Foundation

/// Real servers and clients on loopback for live tests: nginx with its RTMP module (config in
/// the test's temp folder, on a free port), and long-running ffmpeg/labelcast processes.
public enum LiveServers {
    nonisolated(unsafe) private static var handedOut: Set<Int> = []
    nonisolated(unsafe) private static var nextInRange: Int?
    private static let portLock = NSLock()

    /// `LABELCAST_TEST_PORTS=FROM-TO` (e.g. `20000-25999`): the ports handed out come from that
    /// range, in order, each free for TCP and UDP when handed out, so test processes run side by
    /// side with disjoint ranges (below the kernel's ephemeral range, which clients' own ports
    /// come from) never pick the same port. Without it the kernel picks an ephemeral port.
    public static let portRange: ClosedRange<Int>? = {
        guard let spec = ProcessInfo.processInfo.environment["LABELCAST_TEST_PORTS"] else { return nil }
        let f = spec.split(separator: "-").compactMap { Int($0) }
        guard f.count == 2, 1024 <= f[0], f[0] < f[1], f[1] <= 65535 else {
            fatalError("LABELCAST_TEST_PORTS=\(spec): expected FROM-TO, e.g. 20000-25999")
        }
        return f[0]...f[1]
    }()

    /// A TCP/UDP port nobody listens on right now, never the same one twice in a test run
    /// (the kernel happily returns a just-closed port again).
    public static func freePort() -> Int {
        portLock.lock()
        defer { portLock.unlock() }
        if let range = portRange {
            var p = nextInRange ?? range.lowerBound
            for _ in 0..<range.count {
                defer { p = p == range.upperBound ? range.lowerBound : p + 1 }
                if !handedOut.contains(p) && bindable(p, Int32(SOCK_STREAM.rawValue)) && bindable(p, Int32(SOCK_DGRAM.rawValue)) {
                    handedOut.insert(p)
                    nextInRange = p == range.upperBound ? range.lowerBound : p + 1
                    return p
                }
            }
            fatalError("no free port left in LABELCAST_TEST_PORTS=\(range.lowerBound)-\(range.upperBound)")
        }
        while true {
            let p = ephemeralPort()
            if !handedOut.contains(p) { handedOut.insert(p); return p }
        }
    }

    /// Whether a socket of `type` can bind 127.0.0.1:port now.
    private static func bindable(_ port: Int, _ type: Int32) -> Bool {
        let fd = socket(AF_INET, type, 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// Whether something (an SRT or UDP listener) holds UDP port `port` on 127.0.0.1.
    public static func udpBound(port: Int) -> Bool { !bindable(port, Int32(SOCK_DGRAM.rawValue)) }

    /// Polls `condition` every 50 ms for up to `seconds`; its last answer.
    public static func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { if condition() { return true }; usleep(50_000) }
        return condition()
    }

    private static func ephemeralPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// nginx-rtmp with two applications, `ingest` and `live`, on 127.0.0.1:port; and plain HTTP
    /// on 127.0.0.1:httpPort serving `dir/www` (for HLS written there by an ffmpeg publisher).
    public final class NginxRTMP: @unchecked Sendable {
        public let port: Int
        public let httpPort: Int
        public let dir: String
        private var process: Process?

        /// `ingest`, `live`: extra directives for the ingest and live applications (e.g.
        /// `wait_key on;`, `meta copy;`).
        public init(dir: String, ingest: String = "", live: String = "") throws {
            self.dir = dir
            port = LiveServers.freePort()
            httpPort = LiveServers.freePort()
            try FileManager.default.createDirectory(atPath: dir + "/www", withIntermediateDirectories: true)
            let module = ["/usr/lib/nginx/modules/ngx_rtmp_module.so", "/usr/share/nginx/modules/ngx_rtmp_module.so"]
                .first { FileManager.default.fileExists(atPath: $0) }
            guard let module else { throw TestFailure("nginx RTMP module not installed (make test installs libnginx-mod-rtmp)") }
            let conf = """
            load_module \(module);
            daemon off;
            master_process off;
            pid \(dir)/nginx.pid;
            error_log \(dir)/nginx-error.log warn;
            events { worker_connections 64; }
            rtmp {
                server {
                    listen 127.0.0.1:\(port);
                    chunk_size 4096;
                    application ingest { live on; record off; \(ingest) }
                    application live { live on; record off; \(live) }
                }
            }
            http {
                access_log off;
                types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
                server {
                    listen 127.0.0.1:\(httpPort);
                    root \(dir)/www;
                    add_header Cache-Control no-cache;
                }
            }
            """
            try conf.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
            try start()
        }

        public func start() throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try TestSupport.which("nginx").isEmpty ? "/usr/sbin/nginx" : TestSupport.which("nginx"))
            p.arguments = ["-p", dir, "-c", dir + "/nginx.conf", "-e", dir + "/nginx-error.log"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            process = p
            // Ready when the port accepts connections.
            for _ in 0..<100 {
                if LiveServers.canConnect(port: port) { return }
                usleep(50_000)
            }
            throw TestFailure("nginx did not start listening on \(port): \((try? String(contentsOfFile: dir + "/nginx-error.log", encoding: .utf8)) ?? "")")
        }

        public func stop() {
            guard let p = process, p.isRunning else { return }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            process = nil
        }

        public func url(_ app: String, _ stream: String) -> String { "rtmp://127.0.0.1:\(port)/\(app)/\(stream)" }
        /// A path under `dir/www` as an http:// URL.
        public func httpURL(_ path: String) -> String { "http://127.0.0.1:\(httpPort)/\(path)" }
        deinit { stop() }
    }

    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// A background process whose stderr is kept in a file; stopped (SIGTERM, then SIGKILL) on demand.
    public final class Background: @unchecked Sendable {
        public let process = Process()
        public let logPath: String
        public init(_ executable: String, _ arguments: [String], log: String, environment: [String: String]? = nil) throws {
            logPath = log
            FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : try TestSupport.which(executable))
            process.arguments = arguments
            if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
        }
        /// Sends `signal` and waits up to `timeout` s, then kills.
        @discardableResult
        public func stop(_ signal: Int32 = SIGTERM, timeout: Double = 15) -> Int32 {
            if process.isRunning { kill(process.processIdentifier, signal) }
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
            return process.terminationStatus
        }
        public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    /// A live encoder's stream to udp://127.0.0.1:port as MPEG-TS (mandelbrot 480x270 at 25 fps,
    /// x264 zerolatency so no B-frames, an IDR every 2 s, 500 Hz AAC), `seconds` long at real
    /// time, recorded as sent to `reference` too (ffmpeg's tee muxer): the oracle for which
    /// pictures labelcast copied.
    /// A live H.264 encoder's video settings: no B-frames, an IDR every 2 s at 25 fps.
    public static let liveH264 = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "50"]
    /// The same for HEVC (x265 without B-frames, closed GOPs).
    public static let liveHEVC = ["-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency",
                                  "-x265-params", "keyint=50:min-keyint=50:bframes=0:open-gop=0:scenecut=0:log-level=error"]

    /// A tonal source that never repeats a frame (a pure sine's AAC packets repeat every few
    /// frames, so packet hashes could not tell where a packet came from).
    public static let varyingTone = "aevalsrc=0.25*sin(2*PI*440*t)*(1+0.5*sin(2*PI*0.7*t))+0.15*sin(2*PI*660*t+2*sin(2*PI*3*t))|0.2*sin(2*PI*330*t)+0.1*sin(2*PI*990*t)*(1+0.5*sin(2*PI*1.3*t)):s=48000"

    public static func udpPublisher(port: Int, reference: String, seconds: Int, log: String, video: [String] = liveH264,
                                    audio: String = "sine=frequency=500:sample_rate=48000") throws -> Background {
        try Background("ffmpeg", [
            "-v", "error", "-re", "-f", "lavfi", "-i", "mandelbrot=size=480x270:rate=25", "-f", "lavfi", "-i", audio,
            "-t", String(seconds)] + video + ["-pix_fmt", "yuv420p", "-c:a", "aac",
            "-map", "0:v", "-map", "1:a", "-f", "tee", "[f=mpegts]udp://127.0.0.1:\(port)?pkt_size=1316|[f=mpegts]\(reference)",
        ], log: log)
    }

    /// The answered switch instants of one synthetic on/off round through the control API.
    public struct SyntheticSwitch: Sendable {
        public let on: Double
        public let off: Double
    }

    /// With `labelcast` reading udp://127.0.0.1:`port` and its control API on `control` (waited
    /// for here; its log in the failure if not): publishes `seconds` of `udpPublisher`'s stream, switches synthetic on at `onAt`
    /// s after the publisher starts and off `hold` s later, waits for the publisher to finish and
    /// `drain` s more for labelcast to write what it has. The media times the API answered.
    public static func publishAndSwitch(port: Int, control: Int, token: String, reference: String, seconds: Int,
                                        onAt: Double, hold: Double, drain: Double = 1.5, labelcast: Background, dir: String,
                                        video: [String] = liveH264, audio: String = "sine=frequency=500:sample_rate=48000") throws -> SyntheticSwitch {
        guard waitUntil(10, { canConnect(port: control) }) else { throw TestFailure("the control API did not come up on \(control): \(labelcast.log)") }
        let publisher = try udpPublisher(port: port, reference: reference, seconds: seconds, log: dir + "/publisher.log", video: video, audio: audio)
        defer { publisher.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: onAt)
        let on = try http("PUT", "http://127.0.0.1:\(control)/synthetic", body: #"{"synthetic":true}"#, token: token)
        Thread.sleep(forTimeInterval: hold)
        let off = try http("PUT", "http://127.0.0.1:\(control)/synthetic", body: #"{"synthetic":false}"#, token: token)
        func mediaTime(_ body: String) -> Double? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["media_time"] as? Double
        }
        guard let tOn = mediaTime(on.body), let tOff = mediaTime(off.body) else {
            throw TestFailure("the control API did not answer the switch with a media time: \(on.status) \(on.body), \(off.status) \(off.body)")
        }
        publisher.process.waitUntilExit()
        Thread.sleep(forTimeInterval: drain)
        return SyntheticSwitch(on: tOn, off: tOff)
    }

    /// A small HTTP client call (curl), returning status code and body.
    public static func http(_ method: String, _ url: String, body: String? = nil, token: String? = nil) throws -> (status: Int, body: String) {
        var args = ["-s", "-m", "5", "-X", method, "-o", "-", "-w", "\n%{http_code}", url]
        if let body { args += ["-H", "Content-Type: application/json", "--data-binary", body] }
        if let token { args += ["-H", "Authorization: Bearer \(token)"] }
        let r = try TestSupport.run("curl", args, timeout: 10)
        var lines = r.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let code = Int(lines.popLast() ?? "") ?? 0
        return (code, lines.joined(separator: "\n"))
    }
}
