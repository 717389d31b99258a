/// The control API's bearer token (`--control-token`, `--control-token-file`,
/// `LABELCAST_CONTROL_TOKEN`). Its descriptions never show the value, so a token interpolated
/// into a log line, an error or `dump(job)` by mistake prints `ControlToken(<redacted>)`.
public struct ControlToken: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Shortest accepted token: anything shorter is guessable by a client on the network.
    public static let minimumLength = 8

    let bytes: [UInt8]

    /// - Throws: `LabelcastError` when `value` (surrounding white space removed) has fewer
    ///   than 8 characters; `source` names where it came from, for the message.
    public init(_ value: String, source: String = "--control-token") throws {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count >= Self.minimumLength else {
            throw LabelcastError("\(source) is too short (\(trimmed.count) characters): use at least \(Self.minimumLength), e.g. `openssl rand -hex 16`")
        }
        bytes = Array(trimmed.utf8)
    }

    /// The token as sent (`Authorization: Bearer` value); for redaction and the server only.
    public var value: String { String(decoding: bytes, as: UTF8.self) }

    /// Whether an `Authorization` header value is `Bearer <this token>`, compared in constant
    /// time (no early exit on the first differing byte).
    func matches(authorization: String?) -> Bool {
        let given = Array((authorization ?? "").utf8)
        let expected = Array("Bearer ".utf8) + bytes
        var diff = given.count == expected.count ? 0 : 1
        for i in 0..<min(given.count, expected.count) { diff |= Int(given[i] ^ expected[i]) }
        return diff == 0
    }

    public var description: String { "ControlToken(<redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
