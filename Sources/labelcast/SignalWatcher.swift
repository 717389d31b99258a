import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT/SIGTERM into a graceful stop: the first signal asks the run to finish its
/// output; a second one ends the process at once (the unfinished output keeps its temporary
/// `.partial` name, so it never looks complete).
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
                if isFirst { onFirst(sig) } else {
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
