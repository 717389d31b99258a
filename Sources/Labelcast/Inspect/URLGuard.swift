import Foundation

/// What `labelcast serve` lets `POST /v1/inspect?url=` make it fetch: the server-side request
/// forgery surface of a detection service. Off unless the operator lists the schemes
/// (`--allow-url-scheme`); then a URL is opened only if
/// - its scheme is one listed (and one of the stream schemes: never `file:` or other local
///   protocols), and it does not ask the server to listen (`listen=`, `mode=listener`, no host);
/// - every address its host resolves to is public — loopback, private (RFC 1918, ULA),
///   link-local (the cloud metadata address 169.254.169.254 among them), CGNAT, multicast,
///   unspecified, reserved and documentation ranges are refused, IPv4-mapped and NAT64 IPv6
///   forms by the IPv4 address inside — unless the host (or a CIDR holding the address) is in
///   `--allow-url-host`;
/// - and it is then opened at the address that was checked (the host replaced by it; `Host:`
///   and TLS SNI keep the name), so a second DNS answer (rebinding) is never used, with HTTP
///   redirects not followed (`max_redirects=0`: a redirect is an error, so its target cannot
///   bypass the check).
/// An HLS playlist's variants and segments go through the same check, one by one.
public struct URLGuard: Sendable, Equatable {
    /// Schemes that may be listed: the stream protocols `inspect` reads.
    public static let streamSchemes = ["http", "https", "rtmp", "rtmps", "srt", "udp", "rtp"]

    public var schemes: [String]
    /// Added to an HTTP open failure: libavformat reports a redirect it was told not to follow
    /// as a plain I/O error.
    static let redirectHint = " (if it redirects: this server does not follow redirects, give the final URL)"
    /// Host names, IP addresses or CIDR blocks allowed even when private.
    public var hosts: [String]

    public struct Refusal: Error, Sendable, CustomStringConvertible {
        /// What is refused: `scheme`, `listen`, `host`, `address`.
        public var what: String
        public var description: String
    }

    /// Checks both lists; throws a message naming the bad entry.
    public init(schemes: [String], hosts: [String]) throws {
        let s = schemes.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        for scheme in s where !Self.streamSchemes.contains(scheme) {
            throw LabelcastError("--allow-url-scheme \(scheme): not a stream scheme; use some of \(Self.streamSchemes.joined(separator: ","))")
        }
        let h = hosts.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        for host in h where host.contains("/") && Self.cidr(host) == nil {
            throw LabelcastError("--allow-url-host \(host): not a CIDR block (e.g. 10.0.0.0/8, fd00::/8)")
        }
        self.schemes = s
        self.hosts = h
    }

    /// The URL to open (host replaced by the checked address) and the libavformat options
    /// that keep it there.
    public func admit(_ url: String) throws(Refusal) -> (url: String, options: [String: String]) {
        let display = Redaction.url(url)
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased() else {
            throw Refusal(what: "scheme", description: "url '\(display)' is not a URL")
        }
        guard schemes.contains(scheme) else {
            throw Refusal(what: "scheme", description: "url scheme '\(scheme)' is not allowed on this server (allowed: \(schemes.joined(separator: ", ")); the operator lists them with --allow-url-scheme)")
        }
        let query = (c.queryItems ?? []).map { ($0.name.lowercased(), ($0.value ?? "").lowercased()) }
        if query.contains(where: { $0.0 == "listen" || ($0.0 == "mode" && $0.1 != "caller") || $0.0 == "localaddr" || $0.0 == "localport" }) {
            throw Refusal(what: "listen", description: "url '\(display)' asks the server to listen or bind (listen, mode=listener, localaddr, localport): only caller URLs are inspected")
        }
        guard let host = c.host?.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), !host.isEmpty, host != "@" else {
            throw Refusal(what: "listen", description: "url '\(display)' has no host (a listening URL): give the address to read from")
        }
        let hostAllowed = hosts.contains(host.lowercased())
        let addresses = Self.resolve(host)
        guard !addresses.isEmpty else { throw Refusal(what: "host", description: "url host '\(host)' does not resolve") }
        for a in addresses {
            if hostAllowed || hosts.contains(where: { Self.cidr($0)?.contains(a) == true || Self.parse($0) == a }) { continue }
            if let why = Self.nonPublic(a) {
                throw Refusal(what: "address", description: "url host '\(host)' resolves to \(Self.text(a)) (\(why)): refused; the operator can allow it with --allow-url-host")
            }
        }
        // IPv4 first when there is one: the address most servers listen on.
        let pinned = addresses.first { $0.count == 4 } ?? addresses[0]
        var out = c
        out.percentEncodedHost = pinned.count == 16 ? "[\(Self.text(pinned))]" : Self.text(pinned)
        var options: [String: String] = [:]
        if scheme == "http" || scheme == "https" {
            options["max_redirects"] = "0"
            let port = c.port.map { ":\($0)" } ?? ""
            options["headers"] = "Host: \(host.contains(":") ? "[\(host)]" : host)\(port)\r\n"
        }
        if scheme == "https" || scheme == "rtmps" { options["verifyhost"] = host }
        return (out.string ?? url, options)
    }

    // MARK: addresses

    /// Every address `host` resolves to (4 or 16 bytes each), an IP literal as itself.
    static func resolve(_ host: String) -> [[UInt8]] {
        if let a = parse(host) { return [a] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var out: [[UInt8]] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            if ai.pointee.ai_family == AF_INET, let sa = ai.pointee.ai_addr {
                let a = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                out.append(withUnsafeBytes(of: a) { Array($0) })
            } else if ai.pointee.ai_family == AF_INET6, let sa = ai.pointee.ai_addr {
                let a = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                out.append(withUnsafeBytes(of: a) { Array($0) })
            }
            p = ai.pointee.ai_next
        }
        var seen = Set<[UInt8]>()
        return out.filter { seen.insert($0).inserted }
    }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    static func text(_ a: [UInt8]) -> String {
        var buf = [CChar](repeating: 0, count: 64)
        let ok = a.withUnsafeBytes { inet_ntop(a.count == 4 ? AF_INET : AF_INET6, $0.baseAddress, &buf, socklen_t(buf.count)) } != nil
        return ok ? String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }

    struct CIDR {
        var base: [UInt8]
        var bits: Int
        func contains(_ a: [UInt8]) -> Bool {
            guard a.count == base.count else { return false }
            for i in 0..<a.count {
                let take = min(8, max(0, bits - i * 8))
                if take == 0 { return true }
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
                if a[i] & mask != base[i] & mask { return false }
            }
            return true
        }
    }

    static func cidr(_ text: String) -> CIDR? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let base = parse(String(parts[0])), let bits = Int(parts[1]), bits >= 0, bits <= base.count * 8 else { return nil }
        return CIDR(base: base, bits: bits)
    }

    private static let refusedV4: [(String, String)] = [
        ("0.0.0.0/8", "this network"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "shared address space (CGNAT)"),
        ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private"), ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"), ("192.168.0.0/16", "private"), ("198.18.0.0/15", "benchmarking"), ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"), ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"),
    ]
    private static let refusedV6: [(String, String)] = [
        ("::/128", "unspecified"), ("::1/128", "loopback"), ("fe80::/10", "link-local"), ("fc00::/7", "unique local (private)"),
        ("ff00::/8", "multicast"), ("2001:db8::/32", "documentation"), ("100::/64", "discard"), ("fec0::/10", "site-local"),
    ]

    /// Why an address is not public; nil when it is.
    static func nonPublic(_ a: [UInt8]) -> String? {
        if a.count == 16 {
            // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): the IPv4 inside decides.
            let mapped = a[0..<10].allSatisfy { $0 == 0 } && a[10] == 0xFF && a[11] == 0xFF
            let compatible = a[0..<12].allSatisfy { $0 == 0 } && !(a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1)
            let nat64 = a[0] == 0 && a[1] == 0x64 && a[2] == 0xFF && a[3] == 0x9B && a[4..<12].allSatisfy { $0 == 0 }
            if mapped || compatible || nat64 { return nonPublic(Array(a[12..<16])).map { "\($0), inside an IPv6 address" } }
            return refusedV6.first { cidr($0.0)!.contains(a) }?.1
        }
        if a == [255, 255, 255, 255] { return "broadcast" }
        return refusedV4.first { cidr($0.0)!.contains(a) }?.1
    }
}
