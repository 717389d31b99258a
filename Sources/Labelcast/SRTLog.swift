import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// libsrt's own log: it writes straight to stderr unless given a handler, past labelcast's
/// redaction, and it is the only place that says *why* a caller's handshake failed — FFmpeg
/// turns "no listener" and "listener rejected the passphrase" into the same "Input/output
/// error". So labelcast installs a handler (`srt_setloghandler`, looked up in the libsrt the
/// FFmpeg build links; nothing happens without one): every line passes `Redaction.text` and
/// is shown only with `-v` (as FFmpeg's are), and a rejection reason in it is kept for
/// `ConnectFailure.classify` to turn into a permanent error.
public enum SRTLog {
    /// The rejections that no waiting mends, as libsrt words them (`srt_rejectreason_str`).
    static let rejections: [(text: String, meaning: String)] = [
        ("Incorrect passphrase", "SRT peer rejected the passphrase (libsrt: Incorrect passphrase): check passphrase= against the other end's"),
        ("Password required or unexpected", "SRT peer rejected the connection: a passphrase is set on one end only (libsrt: Password required or unexpected): set the same passphrase= on both ends or on neither"),
    ]

    /// The last rejection seen and when (uptime nanoseconds).
    private static let lastRejection = Mutex<(meaning: String, at: UInt64)?>(nil)
    /// Whether libsrt's lines are shown (`-v`).
    private static let shown = Atomic<Bool>(false)
    private static let installed = Atomic<Bool>(false)

    /// Installs the handler (once; later calls only change whether lines are shown). Returns
    /// false when no libsrt is loaded (an FFmpeg built without it).
    @discardableResult
    public static func install(verbose: Bool) -> Bool {
        shown.store(verbose, ordering: .relaxed)
        if installed.load(ordering: .relaxed) { return true }
        typealias Handler = @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void
        typealias SetHandler = @convention(c) (UnsafeMutableRawPointer?, Handler?) -> Void
        typealias SetInt = @convention(c) (Int32) -> Void
        guard let set = symbol("srt_setloghandler") else { return false }
        let handler: Handler = { _, level, _, _, _, message in
            guard let message else { return }
            SRTLog.line(String(cString: message), level: level)
        }
        unsafeBitCast(set, to: SetHandler.self)(nil, handler)
        // No time/thread/severity prefix and no newline: labelcast writes its own line.
        if let flags = symbol("srt_setlogflags") { unsafeBitCast(flags, to: SetInt.self)(1 | 2 | 4 | 8) }
        // Warnings carry the handshake's rejection reason (LOG_WARNING = 4).
        if let level = symbol("srt_setloglevel") { unsafeBitCast(level, to: SetInt.self)(4) }
        installed.store(true, ordering: .relaxed)
        return true
    }

    /// A symbol of the loaded libsrt: the process's own scope first (libavformat's libsrt is
    /// loaded with it), then the Debian names of the library, if already loaded.
    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        if let s = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) { return s }  // RTLD_DEFAULT
        for lib in ["libsrt-gnutls.so.1.5", "libsrt-openssl.so.1.5", "libsrt.so.1.5", "libsrt-gnutls.so.1.4", "libsrt.so.1.4"] {
            if let h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD), let s = dlsym(h, name) { return s }
        }
        return nil
    }

    /// The caller side's wording of a rejection it received (libsrt 1.4/1.5); a listener's own
    /// "rejecting a caller" lines (an SRT listener input) are not about our connection.
    static let callerSide = ["REJECT reported", "reception of a rejection"]

    /// One libsrt line: a rejection reason is kept; the line is shown, redacted, with `-v`.
    static func line(_ message: String, level: Int32) {
        if callerSide.contains(where: { message.contains($0) }), let r = rejections.first(where: { message.contains($0.text) }) {
            lastRejection.withLock { $0 = (r.meaning, DispatchTime.now().uptimeNanoseconds) }
        }
        guard shown.load(ordering: .relaxed) else { return }
        var text = "[libsrt] " + Redaction.text(message.trimmingCharacters(in: .whitespacesAndNewlines))
        text += "\n"
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { raw in _ = write(2, raw.baseAddress, raw.count) }
    }

    /// The rejection libsrt reported within the last `seconds` (one SRT connect attempt), and
    /// forgets it; nil when there was none. Waits briefly for a line still on its way from
    /// libsrt's receive thread.
    static func takeRejection(within seconds: Double = 10) -> String? {
        for attempt in 0..<3 {
            let found = lastRejection.withLock { r -> String? in
                guard let seen = r else { return nil }
                r = nil
                return DispatchTime.now().uptimeNanoseconds - seen.at <= UInt64(seconds * 1e9) ? seen.meaning : nil
            }
            if let found { return found }
            if attempt < 2 { usleep(30_000) }
        }
        return nil
    }

    /// Whether a URL is an SRT caller (the side that hears the rejection).
    static func isCaller(_ url: String) -> Bool {
        let lower = url.lowercased()
        guard lower.hasPrefix("srt://") else { return false }
        return !lower.contains("mode=listener") && !lower.contains("mode=rendezvous")
    }
}
