import Foundation
import Logging
import Synchronization

/// A line-oriented log file a 24/7 run can keep writing through rotation and full disks: the
/// common part of `--audit-log` and `--frame-log`.
///
/// - Opened with `O_APPEND`: every line goes to the file's current end, so a `copytruncate`
///   rotation (the file cut to 0 under us) leaves a valid file, not one that starts with the
///   old offset's worth of NUL bytes.
/// - `reopen()` (SIGHUP) opens the path again: after logrotate's move + create, new lines go
///   to the new file; the old descriptor is closed only once the new one is open.
/// - One `write(2)` per whole line, no user buffer. A failed write (ENOSPC, EIO, EDQUOT) drops
///   that line, is reported once at error level, so `-q` shows it (then at most once a minute), counted for
///   `labelcast_log_write_errors_total{log=…}` and makes `/healthz` "degraded" until a line is
///   written again. While failing, lines are dropped without a write until the file system
///   has 64 KiB free again (`fstatvfs`), then retried. A short write (the disk filled mid-line) is undone with `ftruncate` back
///   to where the line started, so the file only ever holds whole lines; if that fails too,
///   the next line written starts with a newline, so the fragment stays a line of its own.
final class LogFile: Sendable {
    /// `audit` or `frame`: the metric's `log` label and the warnings' subject.
    let name: String
    let path: String
    /// Written first into an empty file (the frame log's CSV header): after a create or a
    /// copytruncate rotation, every file starts with it.
    private let header: String?
    private let logger: Logger

    private struct State {
        var fd: Int32
        /// Set while writes fail: the errno text of the first failure of this spell.
        var failing: String? = nil
        /// The failure was the disk being full (ENOSPC, a short write): it is over as soon as
        /// there is room again, even before the next line comes to be written.
        var outOfSpace = false
        var droppedThisSpell = 0
        var droppedSinceWarning = 0
        var lastWarning: UInt64 = 0
        /// A fragment could not be cut off: the next line must start on a fresh one.
        var needsNewline = false
    }
    private let state: Mutex<State>
    /// Lines that could not be written, for the metric.
    private let errors = Atomic<Int>(0)
    private let isFailing = Atomic<Bool>(false)

    /// Seconds between two warnings of one spell of failures.
    static let warningInterval: UInt64 = 60_000_000_000

    init(name: String, path: String, header: String? = nil, truncate: Bool, logger: Logger) throws(LabelcastError) {
        self.name = name
        self.path = path
        self.header = header
        self.logger = logger
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0o640)
        guard fd >= 0 else { throw LabelcastError(String(cString: strerror(errno))) }
        state = Mutex(State(fd: fd))
    }
    deinit { state.withLock { close($0.fd) } }

    /// Lines dropped so far because a write failed.
    var writeErrors: Int { errors.load(ordering: .relaxed) }
    /// True while writes fail (until a line is written again).
    var failing: Bool { isFailing.load(ordering: .relaxed) }
    /// What is failing, for `/healthz`; nil when writing works, or would again (a full disk
    /// that has room again, on a log with nothing to write just now).
    var failure: String? {
        state.withLock { s in
            guard let reason = s.failing else { return nil }
            return s.outOfSpace && Self.hasRoom(s.fd) ? nil : reason
        }
    }

    /// Opens `path` again (after a rotation moved it away). Throws, keeping the old file, when
    /// the path cannot be opened.
    func reopen() throws(LabelcastError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw LabelcastError(String(cString: strerror(errno))) }
        let old = state.withLock { s -> Int32 in
            let old = s.fd
            s.fd = fd
            s.needsNewline = false  // a new file: whatever fragment there was is in the old one
            return old
        }
        close(old)
    }

    /// Appends `line` and a newline as one write. Returns, when this write ended a spell of
    /// failures, how many lines that spell dropped (else 0).
    @discardableResult
    func write(line: String) -> Int { emit(line) }

    /// Writes the header when the file is empty (at the start of a run).
    func writeHeaderIfEmpty() { emit(nil) }

    private func emit(_ line: String?) -> Int {
        state.withLock { s -> Int in
            // While failing, a line is only tried once the file system has room again: a disk
            // left with a few bytes free would otherwise take every other short line and
            // fail the next, and the warning and /healthz would flap with it.
            if let reason = s.failing, !Self.hasRoom(s.fd) {
                failed(&s, reason)
                return 0
            }
            var text = s.needsNewline ? "\n" : ""
            if let header {
                var st = stat()
                if fstat(s.fd, &st) == 0 && st.st_size == 0 { text += header + "\n" }
            }
            if let line { text += line + "\n" }
            if text.isEmpty { return 0 }
            let bytes = Array(text.utf8)
            var n: Int
            repeat { n = bytes.withUnsafeBytes { Foundation.write(s.fd, $0.baseAddress!, $0.count) } } while n < 0 && errno == EINTR
            if n == bytes.count {
                s.needsNewline = false
                return s.failing == nil ? 0 : recovered(&s)
            }
            let code = n < 0 ? errno : ENOSPC
            let reason = n < 0 ? String(cString: strerror(code)) : "short write (\(n) of \(bytes.count) bytes): \(String(cString: strerror(ENOSPC)))"
            if s.failing == nil { s.outOfSpace = code == ENOSPC }
            if n > 0 {
                // O_APPEND left the offset at the end of the fragment: cut it off again.
                let end = lseek(s.fd, 0, SEEK_CUR)
                if end < n || ftruncate(s.fd, end - off_t(n)) != 0 { s.needsNewline = true }
            }
            failed(&s, reason)
            return 0
        }
    }

    /// Free space worth retrying for (or no way to tell).
    static let retryRoom: UInt64 = 64 << 10

    private static func hasRoom(_ fd: Int32) -> Bool {
        var vfs = statvfs()
        guard fstatvfs(fd, &vfs) == 0 else { return true }
        return UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize) >= retryRoom
    }

    private func failed(_ s: inout State, _ reason: String) {
        errors.add(1, ordering: .relaxed)
        s.droppedThisSpell += 1
        s.droppedSinceWarning += 1
        let now = FrameTrace.now()
        if s.failing == nil {
            s.failing = reason
            isFailing.store(true, ordering: .relaxed)
            s.lastWarning = now
            s.droppedSinceWarning = 0
            // Error level: shown even with -q (the sample unit's setting); the run goes on.
            logger.error("\(name) log '\(path)': write failed (\(reason)): lines are dropped until it can be written again (labelcast_log_write_errors_total{log=\"\(name)\"}, /healthz degraded)")
        } else if now - s.lastWarning >= Self.warningInterval {
            logger.error("\(name) log '\(path)': still failing (\(reason)): \(s.droppedSinceWarning) more lines dropped")
            s.lastWarning = now
            s.droppedSinceWarning = 0
        }
    }

    private func recovered(_ s: inout State) -> Int {
        let dropped = s.droppedThisSpell
        logger.warning("\(name) log '\(path)': writing again; \(dropped) lines were dropped")
        s.failing = nil
        s.droppedThisSpell = 0
        s.droppedSinceWarning = 0
        isFailing.store(false, ordering: .relaxed)
        return dropped
    }
}
