import Foundation
import Synchronization

/// Removes secrets before text reaches a log, an error, metrics, the sidecar or the audit log.
///
/// Two layers. Structurally, in any URL: `user:pass@` credentials, secret-bearing query
/// parameters (passphrase, key, token…), and an RTMP stream key (the path after the
/// application: `rtmp://host/live2/abcd-efgh-…` → `rtmp://host/live2/***`, the form YouTube,
/// Twitch and most CDNs issue). Literally: every secret value registered for the run (the
/// control token, the parts of the input/output URLs the first layer removes), wherever it
/// shows up, so a line that quotes a secret outside a URL (FFmpeg's `playpath = …`,
/// `passphrase …`) loses it too. Values shorter than 6 characters are not replaced literally
/// (a stream named `s` must not blank every `s`); the structural layer still covers them.
public enum Redaction {
    static let secretParameters: Set<String> = ["passphrase", "pass", "password", "pwd", "key", "token", "secret", "auth",
                                                "streamkey", "stream_key", "streamid", "sig", "signature", "access_token",
                                                "pbkeylen_secret", "credential", "credentials", "apikey", "api_key"]
    static let rtmpSchemes: Set<String> = ["rtmp", "rtmps", "rtmpe", "rtmpt", "rtmpte", "rtmpts"]
    static let minimumLiteral = 6
    private static let literals = Mutex<[String]>([])

    /// Registers `secret` for literal replacement in everything `text` redacts.
    public static func register(_ secret: String) {
        var forms = [secret]
        if let decoded = secret.removingPercentEncoding, decoded != secret { forms.append(decoded) }
        literals.withLock { list in
            for f in forms where f.count >= minimumLiteral && !list.contains(f) { list.append(f) }
            list.sort { $0.count > $1.count }  // longest first: a secret containing another goes whole
        }
    }

    /// Registers the secret parts of `url` (what `url(_:)` removes).
    public static func register(url: String) {
        for s in secretParts(of: url) { register(s) }
    }

    /// `url` with its secrets replaced by `***`; anything that is not a URL comes back as is.
    public static func url(_ url: String) -> String {
        guard let parts = URLParts(url) else { return url }
        var out = parts.scheme + "://"
        if parts.userinfo != nil { out += "***@" }
        out += parts.hostPort
        if Self.rtmpSchemes.contains(parts.scheme.lowercased()), let app = parts.rtmpApp {
            out += "/" + app + (parts.rtmpKey == nil ? "" : "/***")
        } else {
            out += parts.path
        }
        if let query = parts.query {
            let redacted = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
                guard let eq = part.firstIndex(of: "=") else { return String(part) }
                let name = part[..<eq].lowercased()
                return secretParameters.contains(name) ? "\(part[..<eq])=***" : String(part)
            }
            out += "?" + redacted.joined(separator: "&")
        }
        return out + (parts.fragment.map { "#" + $0 } ?? "")
    }

    /// Free text (a log line, an error, FFmpeg's output): every URL in it redacted, then every
    /// registered secret replaced.
    public static func text(_ text: String) -> String {
        var out = text
        if out.contains("://") {
            var result = ""
            var rest = Substring(out)
            while let found = rest.range(of: "://") {
                // Walk back over the scheme, forward over the URL's characters.
                var start = found.lowerBound
                while start > rest.startIndex {
                    let before = rest[rest.index(before: start)]
                    guard before.isLetter || before.isNumber || "+.-".contains(before) else { break }
                    start = rest.index(before: start)
                }
                var end = found.upperBound
                while end < rest.endIndex, !rest[end].isWhitespace, !"'\"<>`,;)]}".contains(rest[end]) { end = rest.index(after: end) }
                result += rest[..<start]
                result += start < found.lowerBound ? Redaction.url(String(rest[start..<end])) : String(rest[start..<end])
                rest = rest[end...]
            }
            out = result + rest
        }
        for secret in literals.withLock({ $0 }) where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: "***")
        }
        return out
    }

    /// What `url(_:)` removes from `url`: the password (and user), secret query values, the
    /// RTMP stream key.
    static func secretParts(of url: String) -> [String] {
        guard let parts = URLParts(url) else { return [] }
        var found: [String] = []
        if let userinfo = parts.userinfo {
            found.append(userinfo)
            found += userinfo.split(separator: ":", maxSplits: 1).map(String.init)
        }
        if Self.rtmpSchemes.contains(parts.scheme.lowercased()), let key = parts.rtmpKey { found.append(key) }
        for part in (parts.query ?? "").split(separator: "&") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            if secretParameters.contains(part[..<eq].lowercased()) { found.append(String(part[part.index(after: eq)...])) }
        }
        return found.filter { !$0.isEmpty }
    }

    /// A URL cut into the pieces redaction cares about.
    struct URLParts {
        var scheme: String
        var userinfo: String?
        var hostPort: String
        var path: String
        var query: String?
        var fragment: String?

        init?(_ url: String) {
            guard let schemeEnd = url.range(of: "://") else { return nil }
            scheme = String(url[..<schemeEnd.lowerBound])
            guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+.-".contains($0) }) else { return nil }
            var rest = Substring(url[schemeEnd.upperBound...])
            if let hash = rest.firstIndex(of: "#") { fragment = String(rest[rest.index(after: hash)...]); rest = rest[..<hash] }
            if let q = rest.firstIndex(of: "?") { query = String(rest[rest.index(after: q)...]); rest = rest[..<q] }
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                userinfo = String(authority[..<at])
                authority = authority[authority.index(after: at)...]
            }
            hostPort = String(authority)
            path = String(rest[authorityEnd...])
        }

        /// RTMP: the application is the first path segment; everything after it is the stream
        /// name, which is the key.
        var rtmpApp: String? {
            let segments = path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: true)
            return segments.first.map(String.init)
        }
        var rtmpKey: String? {
            let segments = path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: true)
            return segments.count > 1 ? String(segments[1]) : nil
        }
    }
}
