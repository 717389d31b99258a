import Foundation
import Hummingbird
import Logging
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
}

/// The HTTP side of a run: `GET /metrics` (Prometheus), `GET /healthz`. Runs on Hummingbird's
/// own event loops; reads the run's telemetry through thread-safe snapshots.
final class ControlServer: Sendable {
    let address: ListenAddress
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let group = Mutex<ServiceGroup?>(nil)
    private let bound = Mutex<Int?>(nil)

    init(address: ListenAddress) { self.address = address }

    /// The port actually bound (useful with port 0).
    var port: Int? { bound.withLock { $0 } }

    /// Starts serving; returns once the socket is bound, or throws if it cannot be.
    func start(telemetry: RunTelemetry, logger: Logger) async throws {
        let router = Router()
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
        var serverLogger = logger
        serverLogger.logLevel = .warning
        let ready = AsyncStream<Result<Int, any Error>>.makeStream()
        let app = Application(router: router,
                              configuration: .init(address: .hostname(address.host, port: address.port), serverName: "labelcast"),
                              onServerRunning: { channel in ready.continuation.yield(.success(channel.localAddress?.port ?? 0)) },
                              logger: serverLogger)
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: serverLogger))
        group.withLock { $0 = serviceGroup }
        let t = Task {
            do { try await serviceGroup.run() } catch {
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
                throw LabelcastError("--listen \(address): cannot listen (\(error)); is the port in use?")
            }
        }
    }

    /// Stops accepting connections and lets requests in flight finish.
    func stop() async {
        let g = group.withLock { $0 }
        await g?.triggerGracefulShutdown()
        _ = await task.withLock { $0 }?.result
    }
}
