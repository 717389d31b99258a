import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Where the HTTP server listens (`--listen HOST:PORT`); loopback unless a host is given.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String = "127.0.0.1", port: Int) { self.host = host; self.port = port }

    /// Parses `PORT`, `:PORT`, `HOST:PORT` or `[IPv6]:PORT`.
    public static func parse(_ text: String) throws -> ListenAddress {
        let t = text.trimmingCharacters(in: .whitespaces)
        var host = "127.0.0.1"
        var portText = t
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]"), t[t.index(after: close)...].hasPrefix(":") else {
                throw LabelcastError("--listen '\(text)': expected [IPv6]:PORT, e.g. [::1]:9090")
            }
            host = String(t[t.index(after: t.startIndex)..<close])
            portText = String(t[t.index(close, offsetBy: 2)...])
        } else if let colon = t.lastIndex(of: ":") {
            let h = String(t[..<colon])
            if !h.isEmpty { host = h }
            portText = String(t[t.index(after: colon)...])
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw LabelcastError("--listen '\(text)': the port must be a number from 0 to 65535, e.g. 127.0.0.1:9090")
        }
        return ListenAddress(host: host, port: port)
    }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Reachable from this machine only: 127.0.0.0/8, ::1 or localhost. Anything else
    /// (0.0.0.0, a LAN address, a name) can be reached by other hosts.
    public var isLoopback: Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" || h == "[::1]" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, h, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        return false
    }
}

/// Request context that knows the client's address (for the audit log and rate limits).
struct ControlRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
    /// `ip:port`, for the audit log.
    var client: String {
        guard let a = remoteAddress else { return "unknown" }
        return "\(a.ipAddress ?? "?"):\(a.port ?? 0)"
    }
    /// The address alone: what a rate limit counts by (a client can open many ports).
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}

/// `--control-token`: every route of the control group needs `Authorization: Bearer TOKEN`.
/// It is a middleware of that route group, not of the router: whatever path text the router
/// resolves to a control route (`//synthetic`, `/./synthetic`, `/synthetic/`…) has passed
/// through it, and nothing that is not a control route (`/metrics`, `/healthz`) does.
/// Compared in constant time.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = ControlRequestContext
    let token: ControlToken
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard token.matches(authorization: request.headers[.authorization]) else {
            return ControlServer.json(.unauthorized, ["error": "missing or wrong bearer token: send Authorization: Bearer <token>"],
                                      extra: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }
}

/// The HTTP side of a run: `GET /metrics` (Prometheus), `GET /healthz`, and the live control
/// API (`GET`/`PUT /synthetic`, `POST /segments`).
///
/// Isolation from the stream: one event-loop thread and one request thread, both at nice +10
/// (`LowPriorityExecutor`), so the server never uses more than its share of the machine and
/// yields to the pipeline under load; `ConnectionGuard` bounds connections and read times,
/// `RateLimitMiddleware` bounds requests per client, answers to writes are small. Reads the
/// run through thread-safe snapshots.
final class ControlServer: Sendable {
    let address: ListenAddress
    let settings: ControlSettings
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let group = Mutex<ServiceGroup?>(nil)
    private let bound = Mutex<Int?>(nil)
    private let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let connections: ConnectionRegistry

    init(address: ListenAddress, settings: ControlSettings = ControlSettings()) {
        self.address = address
        self.settings = settings
        connections = ConnectionRegistry(settings: settings)
        eventLoops.next().execute { LowPriorityExecutor.lowerPriority(by: 10) }
    }

    /// The port actually bound (useful with port 0).
    var port: Int? { bound.withLock { $0 } }

    /// The router: open routes, then the control group behind its authenticator.
    static func makeRouter(telemetry: RunTelemetry, control: LiveControl, token: ControlToken?,
                           address: ListenAddress, settings: ControlSettings) -> Router<ControlRequestContext> {
        let router = Router(context: ControlRequestContext.self)
        router.add(middleware: HostCheckMiddleware(listenHost: address.host, allowedHosts: settings.allowedHosts))
        router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(rate: settings.requestsPerSecond, burst: settings.requestBurst), token: token))
        router.get("metrics") { _, _ -> Response in
            let text = telemetry.prometheusText()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("healthz") { _, _ -> Response in
            let h = telemetry.health()
            let json = try JSONSerialization.data(withJSONObject: h.body, options: [.sortedKeys])
            return Response(status: h.healthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        let api = router.group()
        if let token { api.add(middleware: BearerTokenMiddleware(token: token)) }
        api.add(middleware: ControlWriteMiddleware(writes: RateLimiter(rate: settings.writesPerSecond, burst: settings.writeBurst)))
        addControlRoutes(api, control: control)
        return router
    }

    /// Starts serving; returns once the socket is bound, or throws if it cannot be.
    func start(telemetry: RunTelemetry, control: LiveControl, token: ControlToken?, logger: Logger) async throws {
        let router = Self.makeRouter(telemetry: telemetry, control: control, token: token, address: address, settings: settings)
        var serverLogger = logger
        serverLogger.logLevel = .warning
        let ready = AsyncStream<Result<Int, any Error>>.makeStream()
        let settings = self.settings
        let connections = self.connections
        let app = Application(router: router,
                              server: .http1(configuration: .init(
                                  additionalChannelHandlers: [ConnectionGuard(settings: settings, registry: connections, token: token)],
                                  idleTimeout: .milliseconds(Int64(settings.idleTimeout * 1000)))),
                              configuration: .init(address: .hostname(address.host, port: address.port), serverName: "labelcast",
                                                   backlog: 1024),
                              onServerRunning: { channel in ready.continuation.yield(.success(channel.localAddress?.port ?? 0)) },
                              eventLoopGroupProvider: .shared(eventLoops),
                              logger: serverLogger)
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: serverLogger))
        group.withLock { $0 = serviceGroup }
        let t = Task {
            do {
                try await withTaskExecutorPreference(LowPriorityExecutor.shared) { try await serviceGroup.run() }
            } catch {
                ready.continuation.yield(.failure(error))
                throw error
            }
        }
        task.withLock { $0 = t }
        for await result in ready.stream {
            switch result {
            case .success(let port):
                bound.withLock { $0 = port }
                logger.info("serving /metrics and /healthz on http://\(address.host.contains(":") ? "[\(address.host)]" : address.host):\(port)")
                return
            case .failure(let error):
                try? await eventLoops.shutdownGracefully()
                let hint = error is SocketAddressError.UnknownHost ? "check the host: use an IP address or a name that resolves" : "is the port in use?"
                throw LabelcastError("--listen \(address): cannot listen (\(error)); \(hint)")
            }
        }
    }

    static let maxBody = 64 * 1024

    static func json(_ status: HTTPResponse.Status, _ body: [String: Any], extra: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads a JSON body of at most 64 KiB into `T`, or answers why not (400, 413).
    enum Decoded<T> { case success(T), failure(Response) }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, example: String) async -> Decoded<T> {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: maxBody) } catch {
            return .failure(json(.contentTooLarge, ["error": "body larger than \(maxBody) bytes"]))
        }
        switch decodeBody(buffer.readableBytesView, as: T.self, example: example) {
        case .success(let value): return .success(value)
        case .failure(let e): return .failure(json(e.status, ["error": e.message]))
        }
    }

    /// Why a body was refused: the status to answer and the message for the client.
    struct BodyError: Error, Equatable {
        let status: HTTPResponse.Status
        let message: String
    }

    /// The body checks of `decode`, on bytes already read: size limit, empty body, JSON into `T`.
    /// Pure, so the fuzz target (Fuzz/) runs exactly what the routes run.
    static func decodeBody<T: Decodable>(_ bytes: some Collection<UInt8>, as type: T.Type, example: String) -> Result<T, BodyError> {
        guard bytes.count <= maxBody else { return .failure(BodyError(status: .contentTooLarge, message: "body larger than \(maxBody) bytes")) }
        guard !bytes.isEmpty else { return .failure(BodyError(status: .badRequest, message: "empty body: send JSON like \(example)")) }
        do { return .success(try JSONDecoder().decode(T.self, from: Data(bytes))) } catch let e as DecodingError {
            let reason: String
            switch e {
            case .keyNotFound(let k, _): reason = "missing field \"\(k.stringValue)\""
            case .typeMismatch(_, let c): reason = "wrong type for \"\(c.codingPath.map(\.stringValue).joined(separator: "."))\": \(c.debugDescription)"
            case .valueNotFound(_, let c): reason = "null for \"\(c.codingPath.map(\.stringValue).joined(separator: "."))\""
            case .dataCorrupted: reason = "not valid JSON"
            @unknown default: reason = "not valid JSON"
            }
            return .failure(BodyError(status: .badRequest, message: "\(reason); send JSON like \(example)"))
        } catch {
            return .failure(BodyError(status: .badRequest, message: "not valid JSON; send JSON like \(example)"))
        }
    }

    struct SwitchBody: Decodable { let synthetic: Bool }
    struct SegmentBody: Decodable { let start: Double; let end: Double? }

    static func addControlRoutes(_ router: RouterGroup<ControlRequestContext>, control: LiveControl) {
        let notStarted = json(.serviceUnavailable, ["error": "the stream has not started yet; try again in a moment"])
        router.get("synthetic") { _, _ -> Response in
            do { return json(.ok, try control.status()) } catch { return notStarted }
        }
        router.put("synthetic") { request, context -> Response in
            switch await decode(SwitchBody.self, request, example: #"{"synthetic": true}"#) {
            case .failure(let response): return response
            case .success(let body):
                do {
                    let (t, changed) = try control.switchState(on: body.synthetic, client: context.client)
                    return json(.ok, ["synthetic": body.synthetic, "media_time": LiveControl.round(t), "changed": changed])
                } catch { return notStarted }
            }
        }
        router.post("segments") { request, context -> Response in
            switch await decode(SegmentBody.self, request, example: #"{"start": 30, "end": 45.5}"#) {
            case .failure(let response): return response
            case .success(let body):
                do {
                    // The answer is what was added, not the whole schedule (GET /synthetic has
                    // that): an answer that grows with the schedule makes a POST flood expensive.
                    _ = try control.addSegment(start: body.start, end: body.end, client: context.client)
                    let added: [String: Any] = ["start": LiveControl.round(body.start), "end": body.end.map(LiveControl.round) ?? NSNull()]
                    return json(.created, ["added": added])
                } catch let e as ScheduleError {
                    return json(e.message.contains("overlaps") ? .conflict : .badRequest, ["error": e.message])
                } catch { return notStarted }
            }
        }
    }

    /// Stops accepting connections and lets requests in flight finish.
    func stop() async {
        let g = group.withLock { $0 }
        await g?.triggerGracefulShutdown()
        _ = await task.withLock { $0 }?.result
        try? await eventLoops.shutdownGracefully()
    }
}
