import Foundation

/// The result of a run: what went in and out, per lane, and how fast.
public struct RunReport: Sendable, Codable {
    public struct LaneReport: Sendable, Codable {
        public var lane: Lane
        public var codecIn: String
        public var codecOut: String
        public var counts: FrameAccounting.LaneCounts
        /// Largest number of items that waited in any of the lane's queues.
        public var maxQueueDepth: Int
    }
    public var input: String
    public var output: String
    public var outputFormat: String
    /// Media seconds written.
    public var mediaSeconds: Double
    public var wallSeconds: Double
    /// Media seconds per wall second.
    public var speed: Double
    public var lanes: [LaneReport]
    /// The synthetic ranges in force.
    public var syntheticRanges: [SyntheticRange]
    /// True when the run stopped on a signal or `cancel()` rather than the end of input.
    public var interrupted: Bool
    /// Wall-clock start of the run (UTC, ISO 8601).
    public var startedAt: String = ""
    /// lane → span (decode, process, encode, mux, total) → latency in microseconds.
    public var latency: [String: [String: LatencySummary]] = [:]
    /// Most items that waited in each stage's queue.
    public var queueMaxDepth: [String: Int] = [:]
    /// C2PA signing (`--c2pa-cert`): how and how long; nil when not signed.
    public var c2pa: C2PAReport?
    /// Set when the run failed: the one-line error.
    public var error: String?

    public func lane(_ l: Lane) -> LaneReport? { lanes.first { $0.lane == l } }

    /// Human-readable summary, printed at the end of a run.
    public var summary: String {
        var lines: [String] = []
        for l in lanes {
            let c = l.counts
            if !l.lane.kind.isProcessed {
                let lost = c.packetsDropped.values.reduce(0, +)
                lines.append("\(l.lane.rawValue): \(c.packetsOut) packets copied (\(l.codecIn))" + (lost > 0 ? ", \(lost) not written" : ""))
                continue
            }
            var s = "\(l.lane.rawValue): \(c.framesIn) frames in = \(c.framesOut) out + \(c.droppedTotal) dropped"
            if !c.dropped.isEmpty {
                s += " (" + c.dropped.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")"
            }
            s += "; \(c.framesLabeled) labeled"
            if c.decodeErrors > 0 { s += "; \(c.decodeErrors) corrupt packets skipped" }
            if c.lostUpstream > 0 || c.corruptUpstream > 0 {
                s += "; \(c.lostUpstream) lost upstream" + (c.corruptUpstream > 0 ? ", \(c.corruptUpstream) damaged upstream" : "")
            }
            s += "; \(l.codecIn) → \(l.codecOut)"
            lines.append(s)
        }
        lines.append(String(format: "%.2f s of media in %.2f s (%.2f× real time)%@", mediaSeconds, wallSeconds, speed,
                            interrupted ? "; interrupted, output finalized" : ""))
        if let c = c2pa {
            lines.append(String(format: "c2pa: signed (%@, %@), manifest %d bytes, %.0f ms", c.algorithm.uppercased(), c.format, c.manifestBytes, c.signMillis))
        }
        return lines.joined(separator: "\n")
    }
}
