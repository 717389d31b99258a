import Foundation

/// Removes secrets from URLs before they reach a log, an error, metrics or the audit log:
/// `user:pass@` credentials and secret-bearing query parameters (passphrase, key, token…).
public enum Redaction {
    static let secretParameters: Set<String> = ["passphrase", "pass", "password", "key", "token", "secret", "auth", "streamkey", "streamid", "pbkeylen_secret"]

    public static func url(_ url: String) -> String {
        guard url.contains("://") else { return url }
        var out = url
        // user:pass@host → ***@host (only in the authority part, before the first '/', '?' or '#').
        if let schemeEnd = out.range(of: "://") {
            let rest = out[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                out.replaceSubrange(schemeEnd.upperBound..<at, with: "***")
            }
        }
        guard let q = out.firstIndex(of: "?") else { return out }
        let query = out[out.index(after: q)...]
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            guard let eq = part.firstIndex(of: "=") else { return String(part) }
            let name = part[..<eq].lowercased()
            return secretParameters.contains(name) ? "\(part[..<eq])=***" : String(part)
        }
        return String(out[...q]) + parts.joined(separator: "&")
    }
}
