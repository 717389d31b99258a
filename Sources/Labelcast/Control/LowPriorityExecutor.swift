import Foundation

/// A task executor on one thread of its own at a lower scheduling priority (nice +10).
///
/// The control server's request handling runs here (`withTaskExecutorPreference`), so however
/// many requests arrive they use at most one core, and the kernel prefers the pipeline's
/// threads whenever both want the CPU: a flood slows the API, not the stream.
final class LowPriorityExecutor: TaskExecutor, @unchecked Sendable {
    /// One per process: the thread lives as long as the process.
    static let shared = LowPriorityExecutor(name: "labelcast.http", nice: 10)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init(name: String, nice: Int32) {
        let thread = Thread { [unowned self] in
            LowPriorityExecutor.lowerPriority(by: nice)
            self.loop()
        }
        thread.name = name
        thread.start()
    }

    /// Lowers the calling thread's priority (Linux: a thread's nice value is its own).
    static func lowerPriority(by nice: Int32) {
        #if os(Linux)
        // The thread id, from /proc/thread-self -> "PID/task/TID" (Glibc's gettid is not imported).
        var link = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/thread-self", &link, link.count - 1)
        guard n > 0, let tid = String(decoding: link.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: "/").last.flatMap({ id_t($0) }) else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), tid, nice)
        #endif
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
