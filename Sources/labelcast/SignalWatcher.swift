import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT/SIGTERM into a graceful stop: the first signal asks the run to finish its
/// output; a second SIGINT (a person pressing Ctrl-C again) ends the process at once (the
/// unfinished output keeps its temporary `.partial` name, so it never looks complete).
/// Repeated SIGTERMs are ignored: supervisors send them in duplicate (nginx-rtmp's exec sends
/// one for the stream and one when its worker exits) and have their own SIGKILL for a hard stop.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let first = Mutex<Int32?>(nil)

    init(onFirst: @escaping @Sendable (Int32) -> Void) {
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
    }

    /// The first signal received, if any.
    var received: Int32? { first.withLock { $0 } }
}
