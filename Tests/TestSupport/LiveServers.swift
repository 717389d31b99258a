import Foundation

/// Real servers and clients on loopback for live tests: nginx with its RTMP module (config in
/// the test's temp folder, on a free port), and long-running ffmpeg/labelcast processes.
public enum LiveServers {
    nonisolated(unsafe) private static var handedOut: Set<Int> = []
    private static let portLock = NSLock()

    /// A TCP/UDP port nobody listens on right now, never the same one twice in a test run
    /// (the kernel happily returns a just-closed port again).
    public static func freePort() -> Int {
        portLock.lock()
        defer { portLock.unlock() }
        while true {
            let p = ephemeralPort()
            if !handedOut.contains(p) { handedOut.insert(p); return p }
        }
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
