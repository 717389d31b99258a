import Dispatch
import Foundation
import Labelcast

/// A one-line progress display on stderr, only when stderr is a terminal: frames, fps,
/// speed ×, elapsed, and for file inputs percent and ETA.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    /// Live runs show latency and drops: what an operator watches.
    private let live: Bool
    private let snapshot: @Sendable () -> ProgressSnapshot
    private var timer: (any DispatchSourceTimer)?
    private var printed = false

    init(enabled: Bool, live: Bool = false, snapshot: @escaping @Sendable () -> ProgressSnapshot) {
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
        self.live = live
        self.snapshot = snapshot
    }

    func start() {
        guard enabled else { return }
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "labelcast.progress"))
        t.schedule(deadline: .now() + 0.5, repeating: 0.5)
        t.setEventHandler { [weak self] in self?.draw() }
        timer = t
        t.resume()
    }

    func stop() {
        guard let timer else { return }
        timer.cancel()
        self.timer = nil
        if printed { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func draw() {
        let s = snapshot()
        let frames = s.counts[.video]?.framesOut ?? s.counts[.audio]?.framesOut ?? 0
        let fps = s.wallSeconds > 0 ? Double(frames) / s.wallSeconds : 0
        var line = String(format: "frames %d  %.1f fps  %.2f×  %@", frames, fps, s.speed, Self.clock(s.wallSeconds))
        let dropped = s.counts.values.map(\.droppedTotal).reduce(0, +)
        if live {
            if let p99 = s.recentLatencyP99Micros { line += String(format: "  p99 %.1f ms", Double(p99) / 1000) }
            line += "  dropped \(dropped)"
        } else if dropped > 0 {
            line += "  dropped \(dropped)"
        }
        if let d = s.durationSeconds, d > 0, s.speed > 0 {
            let pct = min(100, s.mediaSeconds / d * 100)
            let eta = max(0, (d - s.mediaSeconds) / s.speed)
            line += String(format: "  %.0f%%  ETA %@", pct, Self.clock(eta))
        }
        printed = true
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%02d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
    }
}
