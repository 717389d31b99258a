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

    static func install() {
        _ = pending.load(ordering: .relaxed)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { s in _ = EarlySignals.pending.compareExchange(expected: 0, desired: s, ordering: .relaxed) }
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
    private let sources: [any DispatchSourceSignal]
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
        var made: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            made.append(source)
        }
        sources = made
        for (source, sig) in zip(sources, [SIGINT, SIGTERM]) {
            source.setEventHandler { [weak self] in
                guard let self else { return }
                let isFirst = self.first.withLock { f -> Bool in
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
            source.resume()
        }
        // A signal that came before the sources were listening counts as the first.
        if let early = EarlySignals.take() {
            first.withLock { $0 = early }
            DispatchQueue.global().async { onFirst(early) }
        }
    }

    /// The first signal received, if any.
    var received: Int32? { first.withLock { $0 } }
}
