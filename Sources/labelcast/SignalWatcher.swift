import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT/SIGTERM into a graceful stop: the first signal asks the run to finish its
/// output; a second SIGINT (a person pressing Ctrl-C again) ends the process at once (the
/// unfinished output keeps its temporary `.partial` name, so it never looks complete).
/// Repeated SIGTERMs are ignored: supervisors send them in duplicate (nginx-rtmp's exec sends
/// one for the stream and one when its worker exits) and have their own SIGKILL for a hard stop.
/// SIGINT/SIGTERM that arrive before a command has its `SignalWatcher` (while the process
/// starts and the options are parsed): noted by a plain handler installed first thing in
/// `main`, and handed to the watcher when it starts, so even a stop sent in the first
/// milliseconds ends with the command's own exit status (130/143) rather than a kill.
enum EarlySignals {
    /// The first signal seen, 0 if none. A static let of an atomic: set up before the handler
    /// is installed, so the handler only does an atomic store (async-signal-safe).
    static let pending = Atomic<Int32>(0)
    /// A self-pipe: the handler writes each SIGINT/SIGTERM's number into it (write(2) is
    /// async-signal-safe) and the `SignalWatcher` reads it. The handler stays installed for
    /// the whole run: switching dispositions (to SIG_IGN for a dispatch signal source) left a
    /// gap in which a SIGTERM was discarded — a stop sent while starting was lost under load.
    static let pipe: (read: Int32, write: Int32) = {
        var fds: [Int32] = [-1, -1]
        guard Glibc.pipe(&fds) == 0 else { return (-1, -1) }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return (fds[0], fds[1])
    }()

    static func install() {
        _ = pending.load(ordering: .relaxed)
        _ = pipe
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { s in
                _ = EarlySignals.pending.compareExchange(expected: 0, desired: s, ordering: .relaxed)
                var b = UInt8(truncatingIfNeeded: s)
                _ = write(EarlySignals.pipe.write, &b, 1)
            }
        }
    }

    /// For commands that have no watcher: the default action again, and a signal noted so far
    /// is delivered now.
    static func restoreDefault() {
        for sig in [SIGINT, SIGTERM] { signal(sig, SIG_DFL) }
        if let s = take() { raise(s) }
    }

    /// The signal noted so far, if any (cleared).
    static func take() -> Int32? {
        let s = pending.exchange(0, ordering: .relaxed)
        return s == 0 ? nil : s
    }
}

/// With `onHangup`, SIGHUP calls it (every time) and never ends the process: for `run` it
/// means "reopen the logs" (logrotate's postrotate), never "end the stream". Without, SIGHUP
/// keeps the disposition the process was started with.
final class SignalWatcher: @unchecked Sendable {
    private let signals: [any DispatchSourceSignal]?
    private let reader: (any DispatchSourceRead)?
    private let hangup: (any DispatchSourceSignal)?
    private let first = Mutex<Int32?>(nil)

    init(onHangup: (@Sendable () -> Void)? = nil, onFirst: @escaping @Sendable (Int32) -> Void) {
        if let onHangup {
            signal(SIGHUP, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
            source.setEventHandler { onHangup() }
            source.resume()
            hangup = source
        } else {
            hangup = nil
        }
        let onSignal: @Sendable (Int32, SignalWatcher?) -> Void = { sig, watcher in
            guard let watcher else { return }
            let isFirst = watcher.first.withLock { f -> Bool in
                if f == nil { f = sig; return true }
                return false
            }
            if isFirst { onFirst(sig) } else if sig == SIGTERM {
                FileHandle.standardError.write(Data("labelcast: SIGTERM again: already finishing the output (SIGINT or SIGKILL stops at once)\n".utf8))
            } else {
                FileHandle.standardError.write(Data("labelcast: second signal, stopping now\n".utf8))
                Foundation.exit(128 + sig)
            }
        }
        let fd = EarlySignals.pipe.read
        let drain: @Sendable (SignalWatcher?) -> Void = { watcher in
            var buf = [UInt8](repeating: 0, count: 16)
            while true {
                let n = read(fd, &buf, buf.count)
                guard n > 0 else { return }
                for b in buf.prefix(n) { onSignal(Int32(b), watcher) }
            }
        }
        if fd >= 0 {
            // The early handler stays: every signal since the start of main is in the pipe,
            // in order, those before this watcher included.
            signals = nil
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: .global())
            reader = source
            source.setEventHandler { [weak self] in drain(self) }
        } else {
            // No pipe: dispatch signal sources (a signal in the moment between the two
            // dispositions can be lost).
            reader = nil
            var made: [any DispatchSourceSignal] = []
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                made.append(source)
            }
            signals = made
            for (source, sig) in zip(made, [SIGINT, SIGTERM]) {
                source.setEventHandler { [weak self] in onSignal(sig, self) }
                source.resume()
            }
            if let early = EarlySignals.take() {
                first.withLock { $0 = early }
                DispatchQueue.global().async { onFirst(early) }
            }
        }
        if let reader {
            // Signals that came before this watcher are handled now, on this thread, before
            // the caller goes on: a stop sent while starting must be seen before the input
            // opens, not whenever the read source first runs (under load that was after).
            drain(self)
            reader.resume()
        }
    }

    /// The first signal received, if any.
    var received: Int32? { first.withLock { $0 } }
}
