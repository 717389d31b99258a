import Foundation

/// The `--segments-out` file: which ranges of the output were synthetic and labeled, as the
/// pipeline wrote them (not as scheduled), with the AIGC value and the watermark's payload id.
///
///     {"version":1,"input":"in.mp4","output":"out.mp4","aigc":"{\"AIGC\":{…}}","payloadID":"0x0000002A",
///      "segments":[{"start":1,"end":3.5,"packets":{"video":75,"audio":118},"labeledPackets":{"video":75,"audio":0}}]}
///
/// Times are seconds of media time; `startUTC`/`endUTC` (ISO 8601) are given for live inputs,
/// taken from when the segment's first and first-after frames were read.
public struct SegmentSidecar: Codable, Sendable, Equatable {
    public struct Segment: Codable, Sendable, Equatable {
        public var start: Double
        /// The first non-synthetic frame's time, or the end of the stream.
        public var end: Double
        public var startUTC: String?
        public var endUTC: String?
        /// Packets written per lane inside the range, and how many of them carry a label
        /// (visible label on video; watermark or audible cue on audio).
        public var packets: [String: Int]
        public var labeledPackets: [String: Int]
    }
    public var version = 1
    public var input: String
    public var output: String
    /// The GB 45438 field value exactly as written to the container (nil when none was).
    public var aigc: String?
    /// The watermark payload id, `0x` and eight hex digits, when one was set.
    public var payloadID: String?
    public var segments: [Segment]

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
