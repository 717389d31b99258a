import Dispatch

/// A frame's trace from demuxer to muxer: which frame it is and a monotonic timestamp
/// (uptime nanoseconds) at each stage boundary. Stages stamp; Telemetry reads.
public struct FrameTrace: Sendable, Codable, Equatable {
    public enum Stamp: Int, Sendable, CaseIterable, Codable {
        case read, decoded, processed, encoded, written
        public var name: String { String(describing: self) }
    }
    public var sequence: Int64
    public var lane: Lane
    public var mediaTime: Double
    public var synthetic: Bool
    /// Whether a label (overlay or watermark) was applied to this frame.
    public var labeled: Bool = false
    /// Whether the frame went out as the input's own packet (`--copy-unlabeled`): not decoded
    /// or re-encoded; its stage stamps are the moments the packet passed each stage.
    public var copied: Bool = false
    /// Nanoseconds of `DispatchTime.now().uptimeNanoseconds`, 0 = not reached.
    public var stamps: [UInt64]

    public init(sequence: Int64, lane: Lane, mediaTime: Double = 0, synthetic: Bool = false, read: UInt64 = 0) {
        self.sequence = sequence; self.lane = lane; self.mediaTime = mediaTime; self.synthetic = synthetic
        stamps = Array(repeating: 0, count: Stamp.allCases.count)
        stamps[Stamp.read.rawValue] = read
    }

    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public mutating func stamp(_ s: Stamp, _ t: UInt64 = FrameTrace.now()) { stamps[s.rawValue] = t }
    public subscript(_ s: Stamp) -> UInt64 { stamps[s.rawValue] }
    public var isComplete: Bool { !stamps.contains(0) }
}
