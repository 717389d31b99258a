import Foundation
import Logging

/// `--audit-log`: an append-only JSON-lines record of every labeling decision and state change
/// (GB 45438 / art. 12 record keeping). One `write(2)` per line on an `O_APPEND` file, no user
/// buffer: a crash loses nothing already decided. URLs are redacted; keys are never written.
/// Rotation (SIGHUP → `reopen()`) and write failures are handled by `LogFile`; when writing
/// resumes after a failure, a `log_resumed` line says how many entries were lost, so a gap in
/// the record is itself on the record.
public final class AuditLog: Sendable {
    let file: LogFile
    public var path: String { file.path }

    public init(path: String, logger: Logger = Logger(label: "labelcast")) throws {
        do { file = try LogFile(name: "audit", path: path, truncate: false, logger: logger) } catch {
            throw LabelcastError("--audit-log '\(path)' cannot be opened for appending: \(error.message)")
        }
    }

    /// Appends `{"time_utc": …, "event": event, …fields}` as one line.
    public func record(_ event: String, _ fields: [String: Any] = [:]) {
        guard let line = Self.line(event, fields) else { return }
        let dropped = file.write(line: line)
        if dropped > 0, let gap = Self.line("log_resumed", ["lines_dropped": dropped]) { file.write(line: gap) }
    }

    /// Opens the path again (after logrotate moved the file away).
    public func reopen() throws {
        do { try file.reopen() } catch { throw LabelcastError("--audit-log '\(path)' cannot be reopened: \(error.message)") }
    }

    private static func line(_ event: String, _ fields: [String: Any]) -> String? {
        var object = fields
        object["event"] = event
        object["time_utc"] = AuditLog.timestamp()
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return nil }
        // Whatever a field carries (an error quoting a URL, a client string), no secret is kept.
        return Redaction.text(String(decoding: data, as: UTF8.self))
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
