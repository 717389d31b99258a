import Foundation
import Synchronization

/// `--audit-log`: an append-only JSON-lines record of every labeling decision and state change
/// (GB 45438 / art. 12 record keeping). One `write(2)` per line on an `O_APPEND` file, no user
/// buffer: a crash loses nothing already decided. URLs are redacted; keys are never written.
public final class AuditLog: Sendable {
    private let fd: Int32
    public let path: String
    private let lock = Mutex(())

    public init(path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw LabelcastError("--audit-log '\(path)' cannot be opened for appending: \(String(cString: strerror(errno)))")
        }
        self.path = path
    }
    deinit { close(fd) }

    /// Appends `{"time_utc": …, "event": event, …fields}` as one line.
    public func record(_ event: String, _ fields: [String: Any] = [:]) {
        var object = fields
        object["event"] = event
        object["time_utc"] = AuditLog.timestamp()
        guard JSONSerialization.isValidJSONObject(object),
              let json = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        // Whatever a field carries (an error quoting a URL, a client string), no secret is kept.
        var data = Data(Redaction.text(String(decoding: json, as: UTF8.self)).utf8)
        data.append(0x0A)
        lock.withLock { _ in
            data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 { if errno == EINTR { continue }; return }
                    offset += n
                }
            }
        }
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
