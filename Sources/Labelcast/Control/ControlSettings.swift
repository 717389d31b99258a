import Foundation

/// How the HTTP control server protects itself and the stream: which Host names it answers,
/// how many connections it keeps, how long a client may take, how often a client may call.
/// The defaults suit one operator and a Prometheus scraper; a flood gets cheap refusals
/// (503, 429) instead of work, so it cannot take CPU or descriptors from the pipeline.
public struct ControlSettings: Sendable, Equatable {
    /// `--allowed-host`: Host header values accepted besides IP literals and localhost names
    /// (DNS rebinding defence: a browser tricked into calling the port sends the attacker's name).
    public var allowedHosts: [String] = []
    /// Connections served normally. Past it a connection gets one answer (`/healthz`, or 503
    /// "too many connections") and is closed; past `maxConnections + overflowConnections` it
    /// is closed at once, so descriptors stay bounded whatever a client opens.
    public var maxConnections = 64
    public var overflowConnections = 64
    /// A new connection must send a whole request (head and body) within this many seconds;
    /// a slow-loris client trickling bytes is closed when it runs out.
    public var requestReadTimeout: Double = 5
    /// A kept-alive connection with no request for this long is closed.
    public var idleTimeout: Double = 15
    /// Requests per second per client address (token bucket; `/healthz` is exempt), and the burst.
    public var requestsPerSecond: Double = 20
    public var requestBurst: Double = 40
    /// Control writes (PUT/POST) per second from all clients together, and the burst: bounds
    /// what a toggle flood can add to the audit log (about 200 bytes a write).
    public var writesPerSecond: Double = 10
    public var writeBurst: Double = 20

    public init() {}
}
