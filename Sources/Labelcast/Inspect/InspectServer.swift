import AudioMark
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// `labelcast serve`: the detection interface others can use (EU code of practice; the 2025
/// measures' platform duty). `POST /v1/inspect` takes a media file as the body and answers the
/// same JSON as `labelcast inspect --json`; `POST /v1/inspect?url=…` inspects a stream URL for a
/// bounded window. `GET /healthz`, `GET /metrics`. OpenAPI: `docs/inspect-openapi.yaml`.
///
/// Limits, so a client cannot take the machine: the body is streamed to a private temporary
/// file (never held in memory; unlinked as soon as it is created, read through its descriptor,
/// so nothing stays on disk even if the server is killed) up to `maxBodyBytes` (413 past it);
/// at most `maxConcurrent` inspections run (429 with Retry-After past it: an inspection decodes
/// the whole file, seconds of CPU); each has `timeout` seconds (504; its thread finishes and
/// cleans up on its own, and still counts against the limit until it does). The same guards as
/// the control API: `ConnectionGuard` (connections, read times), the Host check, a per-client
/// request rate, and `--control-token` as a middleware of the /v1 route group.
public final class InspectServer: Sendable {
    public struct Settings: Sendable {
        public var maxBodyBytes: Int64 = 512 << 20
        public var maxConcurrent = 2
        public var timeout: Double = 120
        /// Seconds of a stream URL read.
        public var urlWindow: Double = 10
        public var allowedHosts: [String] = []
        /// What `?url=` may fetch; nil: `?url=` is off (403).
        public var urlGuard: URLGuard?
        public init() {}
    }

    let address: ListenAddress
    let settings: Settings
    private let token: ControlToken?
    private let key: WatermarkKey
    private let keyIsDemo: Bool
    private let running = Mutex(0)
    private let counters = Mutex([String: Int]())
    private let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    public init(address: ListenAddress, token: ControlToken?, key: WatermarkKey, keyIsDemo: Bool, settings: Settings = Settings()) {
        self.address = address
        self.token = token
        self.key = key
        self.keyIsDemo = keyIsDemo
        self.settings = settings
    }

    private func count(_ name: String) { counters.withLock { $0[name, default: 0] += 1 } }

    /// Serves until the process ends; `onBound` is told the port once listening.
    public func run(logger: Logger, onBound: @escaping @Sendable (Int) -> Void) async throws {
        let control = ControlSettings()
        let router = Router(context: ControlRequestContext.self)
        router.add(middleware: HostCheckMiddleware(listenHost: address.host, allowedHosts: settings.allowedHosts))
        router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(rate: control.requestsPerSecond, burst: control.requestBurst)))
        router.get("healthz") { _, _ in ControlServer.json(.ok, ["status": "ok"]) }
        router.get("metrics") { [self] _, _ -> Response in
            let (c, r) = (counters.withLock { $0 }, running.withLock { $0 })
            var text = "# TYPE labelcast_inspect_requests_total counter\n"
            for (k, v) in c.sorted(by: { $0.key < $1.key }) { text += "labelcast_inspect_requests_total{result=\"\(k)\"} \(v)\n" }
            text += "# TYPE labelcast_inspect_running gauge\nlabelcast_inspect_running \(r)\n"
            text += "# TYPE labelcast_inspect_limit gauge\nlabelcast_inspect_limit \(settings.maxConcurrent)\n"
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let api = router.group("v1")
        if let token { api.add(middleware: BearerTokenMiddleware(token: token)) }
        api.post("inspect") { [self] request, context in await inspect(request, context: context) }
        var serverLogger = logger
        serverLogger.logLevel = .warning
        let connections = ConnectionRegistry(settings: control)
        let app = Application(router: router,
                              server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(settings: control, registry: connections)],
                                                                  idleTimeout: .milliseconds(Int64(control.idleTimeout * 1000)))),
                              configuration: .init(address: .hostname(address.host, port: address.port), serverName: "labelcast", backlog: 256),
                              onServerRunning: { channel in onBound(channel.localAddress?.port ?? 0) },
                              eventLoopGroupProvider: .shared(eventLoops),
                              logger: serverLogger)
        do {
            try await ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: serverLogger)).run()
        } catch {
            let hint = error is SocketAddressError.UnknownHost ? "check the host: use an IP address or a name that resolves" : "is the port in use?"
            throw LabelcastError("--listen \(address): cannot listen (\(error)); \(hint)")
        }
    }

    private func error(_ status: HTTPResponse.Status, _ message: String, name: String, extra: HTTPFields = [:], refused: String? = nil) -> Response {
        count(name)
        var body = ["error": Redaction.text(message)]
        if let refused { body["refused"] = refused }
        return ControlServer.json(status, body, extra: extra)
    }

    private func inspect(_ request: Request, context: ControlRequestContext) async -> Response {
        // Admission first: a full server refuses before reading any of the body.
        let admitted = running.withLock { n -> Bool in
            guard n < settings.maxConcurrent else { return false }
            n += 1
            return true
        }
        guard admitted else {
            return error(.tooManyRequests, "\(settings.maxConcurrent) inspections are running: retry later", name: "busy", extra: [.retryAfter: "2"])
        }
        // Released by the inspection's thread when it ends (also after a timeout), or here
        // when no inspection starts.
        var handedOver = false
        defer { if !handedOver { running.withLock { $0 -= 1 } } }
        let url = request.uri.queryParameters.get("url")
        /// The upload's descriptor and the path the inspector opens it by.
        var spool: (fd: Int32, path: String)?
        if let url {
            // The SSRF surface: off unless the operator turned it on; then every URL is checked
            // (`URLGuard`: resolved on the inspection's thread, not this event loop) before any
            // connection, and again for each HLS playlist and segment.
            guard settings.urlGuard != nil else {
                return error(.forbidden, "?url= is off on this server (the operator turns it on with --allow-url-scheme): upload the file as the body instead",
                             name: "url_refused", refused: "url")
            }
        } else {
            let path = NSTemporaryDirectory() + "labelcast-serve-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).upload"
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { return error(.internalServerError, "cannot make a temporary file", name: "error") }
            // Unlinked at once: the upload has no name on disk while it is read (through
            // /proc/self/fd), so not even a killed server leaves it behind.
            unlink(path)
            var total: Int64 = 0
            var failure: Response?
            do {
                for try await buffer in request.body {
                    total += Int64(buffer.readableBytes)
                    if total > settings.maxBodyBytes {
                        failure = error(.contentTooLarge, "body larger than \(settings.maxBodyBytes) bytes", name: "too_large")
                        break
                    }
                    let ok = buffer.withUnsafeReadableBytes { write(fd, $0.baseAddress, $0.count) == $0.count }
                    if !ok { failure = error(.internalServerError, "the upload cannot be stored (disk full?)", name: "error"); break }
                }
            } catch {
                failure = self.error(.badRequest, "the upload was cut off: \(error)", name: "bad_request")
            }
            if failure == nil, total == 0 { failure = error(.badRequest, "empty body: send the media file as the request body", name: "bad_request") }
            if let failure {
                close(fd)
                return failure
            }
            spool = (fd, "/proc/self/fd/\(fd)")
        }
        var setup = Inspector(input: spool?.path ?? url!, key: key, keyIsDemo: keyIsDemo, window: url != nil ? settings.urlWindow : nil,
                              maxBytes: settings.maxBodyBytes, readTimeout: 10)
        setup.urlGuard = url != nil ? settings.urlGuard : nil
        let inspector = setup
        handedOver = true
        let upload = spool
        let outcome = Mutex<CheckedContinuation<Result<InspectionReport, any Error>?, Never>?>(nil)
        let result: Result<InspectionReport, any Error>? = await withCheckedContinuation { c in
            outcome.withLock { $0 = c }
            Thread.detachNewThread { [self] in
                let r = Result { try inspector.run() }
                if let upload { close(upload.fd) }
                running.withLock { $0 -= 1 }
                outcome.withLock { $0?.resume(returning: r); $0 = nil }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + settings.timeout) {
                outcome.withLock { $0?.resume(returning: nil); $0 = nil }
            }
        }
        guard let result else {
            return error(.gatewayTimeout, "the inspection took more than \(Int(settings.timeout)) s", name: "timeout")
        }
        switch result {
        case .success(var report):
            if spool != nil { report.input = "upload" }
            count(report.found ? "found" : "none")
            let body = (try? report.json()) ?? "{}"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        case .failure(let e as URLGuard.Refusal):
            // An HLS playlist naming a refused variant or segment.
            return error(.forbidden, e.description, name: "url_refused", refused: e.what)
        case .failure(let e):
            // The Inspector's messages name the temporary path: the client knows it as its upload.
            var message = (e as? LabelcastError)?.message ?? "\(e)"
            if let spool { message = message.replacingOccurrences(of: spool.path, with: "upload") }
            return error(.unprocessableContent, message, name: "bad_media")
        }
    }
}
