import Synchronization

/// Per-lane frame accounting: frames in = frames out + frames dropped, each drop with a reason.
/// Written from the lane's queues, read by the progress line and the report.
public final class FrameAccounting: Sendable {
    public struct LaneCounts: Sendable, Codable, Equatable {
        public var packetsIn = 0
        /// Packets the decoder rejected (corrupt data); counted, the stream goes on.
        public var decodeErrors = 0
        /// Decoded frames entering the lane's process stage.
        public var framesIn = 0
        /// Frames handed to the encoder, less those a live output that was down could not take
        /// (moved to `dropped` as `output-down`/`output-resync` by the mux stage): at the end of
        /// a run, the frames written.
        public var framesOut = 0
        /// Frames withheld or not written, by reason.
        public var dropped: [String: Int] = [:]
        /// Of the frames out, those labeled as synthetic.
        public var framesLabeled = 0
        /// Of the frames out, those that went out as the input's own packets, not re-encoded
        /// (`--copy-unlabeled`): counted in frames in and out as well.
        public var framesCopied = 0
        /// Encoded packets written to the output.
        public var packetsOut = 0
        /// Encoded packets not written, by reason (a live output that was down: `output-down`,
        /// then `output-resync` until its first keyframe).
        public var packetsDropped: [String: Int] = [:]
        /// Audio only: samples (per channel) in and out.
        public var samplesIn = 0
        public var samplesOut = 0
        /// Audio only: samples of silence put into gaps of the input's timestamps (a reconnect,
        /// a withheld frame, lost packets) and samples left out where the input overlapped
        /// itself, so audio stays on the video's clock (output samples per channel).
        public var samplesFilled = 0
        public var samplesTrimmed = 0
        /// Frames the input never delivered: gaps in a stream's timestamps against its frame
        /// rate (audio: its packet duration), counted by `UpstreamLoss` as the demuxer reads.
        public var lostUpstream = 0
        /// Packets the demuxer flagged as damaged (MPEG-TS continuity errors: lost datagrams).
        public var corruptUpstream = 0
        /// Most frames the encoder held at once before giving a packet back (its delay).
        public var encoderDelayFrames = 0
        public var droppedTotal: Int { dropped.values.reduce(0, +) }
        /// The invariant the pipeline keeps.
        public var balanced: Bool { framesIn == framesOut + droppedTotal }
    }
    private let counts = Mutex<[Lane: LaneCounts]>([:])

    public init() {}

    func update(_ lane: Lane, _ body: (inout LaneCounts) -> Void) {
        counts.withLock { all in
            var c = all[lane] ?? LaneCounts()
            body(&c)
            all[lane] = c
        }
    }
    func drop(_ lane: Lane, reason: String, count: Int = 1) {
        update(lane) { $0.dropped[reason, default: 0] += count }
    }
    public func snapshot() -> [Lane: LaneCounts] { counts.withLock { $0 } }
}
