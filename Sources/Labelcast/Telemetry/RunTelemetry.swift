import Foundation
import Histogram
import Logging
import Synchronization

/// Everything a run measures, in one place: latency histograms, the frame log, the Prometheus
/// exporter. Fed by the mux stage with each written frame's trace; read by the report, the
/// progress line and the HTTP server from any thread.
public final class RunTelemetry: Sendable {
    let latency = LatencyRecorder()
    /// C2PA signing steps of a segmented output (the `c2pa` span): per step, µs histograms.
    private let c2paTimes = Mutex<[String: Histogram<UInt64>]>([:])
    let prometheus = PrometheusExporter()
    let frameLog: FrameLog?
    /// Monotonic origin of the run (uptime ns): frame-log stamps count from here.
    let origin: UInt64
    let startedAt = Date()
    /// The run's live numbers; it returns nil once the run is gone. Boxed in a struct: a bare
    /// function type as a Mutex's value is reabstracted on the way into `withLock`'s inout and
    /// written back wrapped in one more thunk, so every read grew a chain of thunks (32 bytes
    /// leaked per call, and each call walked the whole chain: time and stack grew with the
    /// number of scrapes of /metrics and /healthz; issue 16).
    private struct SnapshotSource: Sendable { let read: @Sendable () -> ProgressSnapshot? }
    private let snapshotSource = Mutex<SnapshotSource?>(nil)
    private let lastWritten = Atomic<UInt64>(0)
    private let framesWritten = Atomic<Int>(0)
    /// What the input side is doing, for `/healthz`: 0 running, 1 reconnecting, 2 input ended,
    /// 3 waiting for a live input that is not there yet (the run's start).
    private let inputPhase = Atomic<Int>(0)

    enum InputPhase: Int { case running = 0, reconnecting = 1, ended = 2, waiting = 3 }
    func setInputPhase(_ phase: InputPhase) { inputPhase.store(phase.rawValue, ordering: .relaxed) }

    /// A live output that does not answer (down at the start, or dropped): "waiting" before
    /// the first frame, "reconnecting" after, until a frame is written again.
    private let outputWaiting = Atomic<Bool>(false)
    /// Why the input or output is being waited for (`"output rtmp://…/*** not reachable
    /// (Connection refused), retrying"`), by side; shown by `/healthz` while it lasts.
    private let outages = Mutex<[String: String]>([:])
    func setOutputWaiting(_ reason: String) {
        outages.withLock { $0["output"] = reason }
        outputWaiting.store(true, ordering: .relaxed)
    }
    func setInputWaiting(_ reason: String?) { outages.withLock { $0["input"] = reason } }

    /// Conditions that make a running stream "degraded" (503) without stopping it, by key
    /// (e.g. "input-video": the input declared video that never came).
    private let conditions = Mutex<[String: String]>([:])
    func setCondition(_ key: String, _ text: String?) { conditions.withLock { $0[key] = text } }

    /// The run's log files (frame log, audit log), for `/healthz` and the write-error metric.
    private let logs = Mutex<[LogFile]>([])

    init(frameLogPath: String?, logger: Logger = Logger(label: "labelcast")) throws {
        let start = FrameTrace.now()
        origin = start
        frameLog = try frameLogPath.map { try FrameLog(path: $0, origin: start, logger: logger) }
        if let frameLog { watch(frameLog.file) }
    }

    /// Adds a log file whose write failures make the run "degraded".
    func watch(_ log: LogFile) { logs.withLock { $0.append(log) } }

    /// Called on the mux queue for every frame written.
    func record(_ trace: FrameTrace) {
        latency.record(trace)
        prometheus.record(trace)
        frameLog?.append(trace)
        lastWritten.store(trace[.written], ordering: .relaxed)
        framesWritten.add(1, ordering: .relaxed)
        if outputWaiting.load(ordering: .relaxed) {
            outputWaiting.store(false, ordering: .relaxed)
            outages.withLock { $0["output"] = nil }
        }
    }

    /// One C2PA step's duration: `segment_mux` (a media segment's Merkle box, on the mux queue),
    /// `segment_hash` (its SHA-256, on the signer's queue), `init_sign` (the end-of-run init
    /// segment signing), `live_resign` (a live re-signing). Any thread.
    func recordC2PA(_ step: String, micros: Double) {
        let value = UInt64(max(1, micros.rounded()))
        c2paTimes.withLock { _ = $0[step, default: LatencyRecorder.makeHistogram()].record(value) }
        prometheus.recordC2PA(step, nanoseconds: Int64(micros * 1000))
    }

    /// step → summary (µs), for the report's `latency.c2pa`; empty when nothing was signed.
    func c2paSummaries() -> [String: LatencySummary] {
        c2paTimes.withLock { Dictionary(uniqueKeysWithValues: $0.map { ($0.key, LatencySummary($0.value)) }) }
    }

    func attach(_ source: @escaping @Sendable () -> ProgressSnapshot?) { snapshotSource.withLock { $0 = SnapshotSource(read: source) } }

    func snapshot() -> ProgressSnapshot? { snapshotSource.withLock { $0 }?.read() ?? nil }

    /// The Prometheus text for `GET /metrics`, with counters brought up to date.
    func prometheusText() -> String {
        if let s = snapshot() {
            prometheus.refresh(counts: s.counts, queueDepths: s.queueDepths, speed: s.speed, mediaSeconds: s.mediaSeconds)
        }
        prometheus.refresh(counters: logCounters())
        return prometheus.text() + Self.processMetricsText()
    }

    /// The standard Prometheus process metrics (names as the official clients write them), from
    /// When this process started, in seconds since the epoch (boot time + field 22 of
    /// /proc/self/stat): read once, as it never changes.
    static let processStartTime: Double? = {
        func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        guard let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let f = stat[stat.index(after: close)...].split(separator: " ")
        guard f.count > 19, let start = Double(f[19]),
              let boot = read("/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }).flatMap({ Double($0.dropFirst(6)) })
        else { return nil }
        return boot + start / Double(sysconf(Int32(_SC_CLK_TCK)))
    }()

    /// /proc/self: what a 24/7 service's memory and CPU do over days, next to the stream's own.
    static func processMetricsText() -> String {
        func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        let page = Double(sysconf(Int32(_SC_PAGESIZE))), ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: Double) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        if let statm = read("/proc/self/statm")?.split(separator: " "), statm.count > 1,
           let size = Double(statm[0]), let resident = Double(statm[1]) {
            metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", resident * page)
            metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", size * page)
        }
        // /proc/self/stat: fields after the command name (which may hold spaces) in parentheses.
        if let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            let f = stat[stat.index(after: close)...].split(separator: " ")
            // f[0] is field 3 (state): utime = field 14, stime = 15.
            if f.count > 12, let u = Double(f[11]), let st = Double(f[12]) {
                metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", (u + st) / ticks)
            }
        }
        if let start = processStartTime {
            metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", start)
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            metric("process_open_fds", "gauge", "Number of open file descriptors.", Double(fds.count))
        }
        return out
    }

    private func logCounters() -> [(name: String, dimensions: [(String, String)], value: Int)] {
        logs.withLock { $0 }.map { ("labelcast_log_write_errors_total", [("log", $0.name)], $0.writeErrors) }
    }

    /// `GET /healthz`: healthy while frames keep coming out (none yet is "starting", none for
    /// 10 s after the first is a stall) or the input has ended and the run is finishing; a live input being reconnected
    /// is unhealthy ("reconnecting") until it answers again. A log that cannot be written
    /// (a full disk) makes an otherwise healthy run "degraded" (503): the stream is fine, the
    /// record of it is not, and an operator has to know.
    func health() -> (healthy: Bool, body: [String: Any]) {
        let last = lastWritten.load(ordering: .relaxed)
        let now = FrameTrace.now()
        let idle = last == 0 || last > now ? 0 : Double(now - last) / 1e9
        var status: String
        switch InputPhase(rawValue: inputPhase.load(ordering: .relaxed)) ?? .running {
        case .ended: status = "finishing"
        case .reconnecting: status = "reconnecting"
        case .waiting: status = "waiting"
        case .running:
            // No frame written yet is not health: "starting" (503) until frames flow.
            if outputWaiting.load(ordering: .relaxed) { status = last == 0 ? "waiting" : "reconnecting" }
            else { status = last == 0 ? "starting" : idle < 10 ? "ok" : "stalled" }
        }
        var failing = logs.withLock { $0 }.compactMap { log in log.failure.map { "\(log.name) log: \($0)" } }
        failing += conditions.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value)
        if !failing.isEmpty && (status == "ok" || status == "finishing") { status = "degraded" }
        let healthy = status == "ok" || status == "finishing"
        var body: [String: Any] = ["status": status, "frames_written": framesWritten.load(ordering: .relaxed),
                                   "seconds_since_last_frame": (idle * 1000).rounded() / 1000,
                                   "uptime_seconds": (Date().timeIntervalSince(startedAt) * 1000).rounded() / 1000]
        if !failing.isEmpty { body["degraded"] = failing }
        let waitingFor = outages.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value)
        if !waitingFor.isEmpty && !healthy { body["reason"] = waitingFor.joined(separator: "; ") }
        if let s = snapshot() {
            body["speed"] = (s.speed * 1000).rounded() / 1000
            // Frames the input never delivered, per lane (UpstreamLoss): the source's fault,
            // not ours, but an operator watching a lossy link has to see it.
            body["lost_upstream"] = Dictionary(uniqueKeysWithValues: s.counts.map { ($0.key.rawValue, $0.value.lostUpstream) })
        }
        return (healthy, body)
    }

    /// End-to-end p99 over the last seconds, for the live status line.
    public func recentP99Micros() -> UInt64? { latency.recentP99() }
}
