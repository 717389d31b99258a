import CFFmpeg
import Foundation
import MediaIO

/// The one retry policy for live connections: the first connection of a live input or output
/// (the far end not up yet) and every reconnect after a drop wait the same way — 0.5 s,
/// doubling to 8 s between attempts — until the connection answers, the run is stopped, or
/// `--reconnect-timeout` seconds have passed since the outage began (0: no limit).
struct RetryPolicy: Sendable {
    static let firstDelay = 0.5
    static let maxDelay = 8.0
    /// Seconds an outage may last before the run gives up (exit 2); 0 waits for ever.
    let limit: Double

    /// Seconds for a log line: one decimal, no trailing zeros.
    static func text(_ s: Double) -> String { String(format: "%g", (s * 10).rounded() / 10) }

    /// "0.5 s doubling to 8 s, for ever" / "…, giving up after 30 s": for log lines.
    var describe: String {
        "retrying every 0.5 s doubling to 8 s " + (limit > 0 ? "for up to \(RetryPolicy.text(limit)) s (--reconnect-timeout)" : "until it answers (Ctrl-C to stop; --reconnect-timeout bounds it)")
    }
}



/// One outage under the policy: how long it has lasted and when to try next.
struct Outage: Sendable {
    let policy: RetryPolicy
    let since = Date()
    private(set) var attempts = 0
    private var delay = RetryPolicy.firstDelay

    init(policy: RetryPolicy) { self.policy = policy }

    var elapsed: Double { Date().timeIntervalSince(since) }
    /// Seconds left before the limit; nil without one.
    var remaining: Double? { policy.limit > 0 ? max(0, policy.limit - elapsed) : nil }

    /// Counts a failed attempt and returns the pause before the next one, or nil when the
    /// outage has lasted past the limit (the pause is cut to end at the limit, so the last
    /// attempt falls on it).
    mutating func failed() -> Double? {
        attempts += 1
        let pause = delay
        delay = min(delay * 2, RetryPolicy.maxDelay)
        guard let left = remaining else { return pause }
        return left <= 0 ? nil : min(pause, left)
    }

    /// The line a run that gives up ends with.
    func gaveUp(_ what: String, reason: String) -> LabelcastError {
        LabelcastError("\(what) not reachable for \(RetryPolicy.text(elapsed)) s (\(reason)): gave up after \(attempts) attempt(s) (--reconnect-timeout \(RetryPolicy.text(policy.limit)); 0 waits for ever)")
    }
}

/// Whether a failed connection can go away by itself, so waiting makes sense, or is a mistake
/// in the command that no amount of waiting mends (exit 2 at once). The rule:
///
/// - **transient** — the far end is not there or not ready: connection refused, timed out,
///   host or network unreachable, reset, nothing received within `--read-timeout` (a player
///   joined before the publisher), a temporary DNS failure, an SRT caller that got no
///   handshake, RTMP "Already publishing" (a
///   stale session of a previous run, which the server drops when it times out);
/// - **permanent** — the URL cannot work whatever the far end does: no host, an unknown
///   scheme, protocol, format or muxer, a bad option, a host name DNS says does not exist,
///   a file path that cannot be opened; at the start only, an SRT caller whose listener
///   rejected the passphrase (wrong, or set on one end only: FFmpeg reports it with the same
///   code as no listener, libsrt's log names it — `SRTLog`); and, at the start only, an RTMP server that accepted
///   an output's TCP connection and then closed it during the handshake (nginx-rtmp's answer to an
///   unknown application, a `deny` rule or an `on_publish`/`on_play` hook that said no: a
///   wrong application name or stream key). A run that was streaming keeps retrying even
///   that (its URL worked): the server may be mid-restart or the key being rotated.
enum ConnectFailure {
    enum Verdict: Equatable {
        case transient(String)
        case permanent(String)
    }

    /// AVERROR_OPTION_NOT_FOUND (FFERRTAG(0xF8, 'O', 'P', 'T')).
    static let optionNotFound: Int32 = -(0xF8 | Int32(UInt8(ascii: "O")) << 8 | Int32(UInt8(ascii: "P")) << 16 | Int32(UInt8(ascii: "T")) << 24)

    /// `publishing`: the URL is an output. nginx-rtmp also hangs up on a *player* of a stream
    /// with no publisher when `idle_streams off` is set — a publisher not up yet, transient —
    /// so a closed handshake is permanent only for an output.
    static func classify(_ e: MediaError, url: String, atStart: Bool, publishing: Bool) -> Verdict {
        let permanentCodes = [lc_averror_protocol_not_found(), lc_averror_demuxer_not_found(), lc_averror_muxer_not_found(),
                              lc_averror_einval(), optionNotFound, -ENOENT, -EACCES, -EISDIR, -ENOTDIR]
        if permanentCodes.contains(e.code) { return .permanent(e.message) }
        if let problem = hostProblem(url) { return .permanent(problem) }
        // libsrt's handshake rejection (read from its log, `SRTLog`): FFmpeg reports it with
        // the same code as a listener that is not up. At the start it is a mistake in the
        // command; a run that was streaming keeps retrying (the far end may be mid-rotation).
        if SRTLog.isCaller(url), let why = SRTLog.takeRejection() { return atStart ? .permanent(why) : .transient(why) }
        if e.code == lc_averror_exit() || e.code == lc_averror_etimedout() {
            return .transient("nothing received within the read timeout")
        }
        if e.code == lc_averror_eio(), atStart, publishing, isRTMP(url), let (host, port) = hostAndPort(url), serverAnswers(host: host, port: port) {
            return .permanent("the server at \(host):\(port) accepted the connection, then closed it during the RTMP handshake: it refused the application or stream key (check both)")
        }
        if e.code == -EPERM, isRTMP(url) {
            return .transient("the server says the stream is already published (a previous session it has not dropped yet)")
        }
        return .transient(e.message)
    }

    static func isRTMP(_ url: String) -> Bool { url.lowercased().hasPrefix("rtmp://") || url.lowercased().hasPrefix("rtmps://") }

    /// Host and port of a network URL (default ports for RTMP); nil when it names none.
    static func hostAndPort(_ url: String) -> (String, Int)? {
        guard let parts = Redaction.URLParts(url), !parts.hostPort.isEmpty else { return nil }
        var host = parts.hostPort, port: Int? = nil
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon {
            port = Int(host[host.index(after: colon)...])
            host = String(host[..<colon])
        }
        switch parts.scheme.lowercased() {
        case "rtmp": port = port ?? 1935
        case "rtmps": port = port ?? 443
        default: break
        }
        guard let port, !host.isEmpty else { return nil }
        return (host, port)
    }

    /// A host name DNS says does not exist (not a temporary failure): the one-line reason, or nil.
    static func hostProblem(_ url: String) -> String? {
        guard let parts = Redaction.URLParts(url) else { return nil }
        var host = parts.hostPort
        if let (h, _) = hostAndPort(url) { host = h } else if let colon = host.lastIndex(of: ":"), !host.hasPrefix("[") { host = String(host[..<colon]) }
        if host.hasPrefix("@") { host.removeFirst() }  // udp://@239.0.0.1:1234
        guard !host.isEmpty, host.contains(where: { $0.isLetter }), !host.contains(":") else { return nil }  // IP literals
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let r = getaddrinfo(host, nil, &hints, &result)
        if let result { freeaddrinfo(result) }
        guard r == EAI_NONAME || r == EAI_FAIL || r == -5 /* EAI_NODATA */ else { return nil }
        return "host '\(host)' not found (DNS): check the name"
    }

    /// Whether a TCP connection to host:port is accepted within 2 s.
    static func serverAnswers(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(result) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&p, 1, 2000) == 1 else { return false }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        return err == 0
    }
}
