import Foundation
import Hummingbird

/// DNS rebinding defence: a web page on another origin that gets a browser to call this port
/// (its own name resolved to 127.0.0.1) sends its own name as Host. Accepted: IP literals
/// (the bound address among them), `localhost` and `*.localhost`, the `--listen` host name, and
/// each `--allowed-host`. Anything else gets 403 before any route runs. A request with no
/// Host at all (HTTP/1.0 tools) is not a browser and is let through.
struct HostCheckMiddleware: RouterMiddleware {
    typealias Context = ControlRequestContext
    let allowed: Set<String>

    init(listenHost: String, allowedHosts: [String]) {
        allowed = Set(([listenHost] + allowedHosts).map { Self.normalise($0) })
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let authority = request.head.authority else { return try await next(request, context) }
        let host = Self.hostPart(authority)
        guard Self.isIPLiteral(host) || host == "localhost" || host.hasSuffix(".localhost") || allowed.contains(host) else {
            return ControlServer.json(.forbidden, ["error": "Host '\(String(authority.prefix(80)))' is not this server's address: call it by IP or localhost, or start labelcast with --allowed-host NAME"])
        }
        return try await next(request, context)
    }

    /// `name:port`, `[v6]:port`, `v6` → the host, lower-cased, without a trailing dot.
    static func hostPart(_ authority: String) -> String {
        var h = Substring(authority)
        if h.hasPrefix("["), let close = h.firstIndex(of: "]") {
            h = h[h.index(after: h.startIndex)..<close]
        } else if h.filter({ $0 == ":" }).count == 1, let colon = h.firstIndex(of: ":") {
            h = h[..<colon]
        }
        return normalise(String(h))
    }

    static func normalise(_ host: String) -> String {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        while h.hasSuffix(".") { h.removeLast() }
        return h
    }

    static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

/// Per-client request rate (429 with Retry-After past it). `/healthz` is exempt so a probe
/// sharing an address with a flooding client still gets its answer. A refused request is
/// answered after `tarpit` seconds: a flooding client then gets at most one answer per
/// connection per `tarpit`, so refusing it costs almost nothing (an immediate 429 invites the
/// next request at once; measured, that alone took ~40% of a core at ~1000 requests/s).
/// Requests that carry the control token draw on a bucket of their own per address, so
/// clients without it — on the same host, behind the same proxy or NAT — cannot use up the
/// operator's share (the token holder is still limited, at the same rate).
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = ControlRequestContext
    let limiter: RateLimiter
    var token: ControlToken? = nil
    var tarpit: Double = 1

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .get && request.uri.path == "/healthz" { return try await next(request, context) }
        let bearer = token?.matches(authorization: request.headers[.authorization]) == true
        if let wait = limiter.take(bearer ? "token " + context.clientAddress : context.clientAddress) {
            try? await Task.sleep(for: .milliseconds(Int(tarpit * 1000)))
            return ControlServer.json(.tooManyRequests, ["error": "too many requests from \(context.clientAddress); retry later"],
                                      extra: [.retryAfter: String(Int(wait.rounded(.up)))])
        }
        return try await next(request, context)
    }
}

/// On the control routes only: control writes (PUT/POST) must say `Content-Type:
/// application/json` (415 otherwise). A cross-site page can send a "simple" POST
/// (text/plain, form) without a CORS preflight; it cannot send application/json, so this
/// closes that door even when no token is set. Writes from all clients together are also
/// rate-bounded (429), which bounds what a toggle flood adds to the audit log.
struct ControlWriteMiddleware: RouterMiddleware {
    typealias Context = ControlRequestContext
    let writes: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method != .get && request.method != .head else { return try await next(request, context) }
        let type = (request.headers[.contentType] ?? "").split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            return ControlServer.json(.unsupportedMediaType, ["error": "control writes need Content-Type: application/json"])
        }
        if let wait = writes.take("writes") {
            try? await Task.sleep(for: .seconds(1))
            return ControlServer.json(.tooManyRequests, ["error": "too many control writes; retry later"],
                                      extra: [.retryAfter: String(Int(wait.rounded(.up)))])
        }
        return try await next(request, context)
    }
}
