import MediaIO

/// The lanes of the pipeline.
public enum Lane: String, Sendable, Codable, CaseIterable {
    case video, audio
}

/// A decoded frame on its way through a lane, with its media time and the Timeline's answer.
/// `@unchecked Sendable`: one stage owns it at a time (see `Frame`).
public final class LaneFrame: @unchecked Sendable {
    public let frame: Frame
    /// Seconds from the stream start (media time) of the first sample/the picture.
    public let mediaTime: Double
    /// Whether the Timeline says this media time is synthetic (for audio: the first sample).
    public let synthetic: Bool
    public var trace: FrameTrace
    /// Set by a processor that applied a label (overlay or watermark) to this frame.
    public var labeled = false
    /// The labeling layers that marked this frame.
    public var layers: LabelLayers = []
    public init(frame: Frame, mediaTime: Double, synthetic: Bool, trace: FrameTrace) {
        self.frame = frame; self.mediaTime = mediaTime; self.synthetic = synthetic; self.trace = trace
    }
}

/// What a processor did with a frame.
public enum ProcessResult: Sendable {
    /// Pass these frames on to the encoder (usually the input frame, changed in place).
    case emit([LaneFrame])
    /// Withhold the frame, counted as dropped with this reason (fail-closed labeling).
    case withhold(reason: String)
}

/// The seam where labeling plugs into a lane: the visible label on video, the watermark on
/// audio. Called on the lane's process queue only, one frame at a time, in media-time order.
public protocol FrameProcessor: AnyObject, Sendable {
    /// Handles one frame. Throwing is treated like `.withhold` for a synthetic frame (it is never
    /// passed on bare) and as a fatal error otherwise.
    func process(_ frame: LaneFrame) throws -> ProcessResult
    /// End of the lane: frames still held (e.g. a watermark's look-ahead).
    func finish() throws -> [LaneFrame]
}

/// Passes frames through unchanged (`--no-overlay`, `--no-watermark`, or nothing to do).
public final class PassThroughProcessor: FrameProcessor {
    public init() {}
    public func process(_ frame: LaneFrame) throws -> ProcessResult { .emit([frame]) }
    public func finish() throws -> [LaneFrame] { [] }
}

/// Runs processors one after another on the same lane (e.g. the audible cue, then the
/// watermark). A frame withheld by one is not shown to the next.
public final class ProcessorChain: FrameProcessor, @unchecked Sendable {
    public let processors: [any FrameProcessor]
    public init(_ processors: [any FrameProcessor]) { self.processors = processors }

    public func process(_ frame: LaneFrame) throws -> ProcessResult {
        var frames = [frame]
        for p in processors {
            var next: [LaneFrame] = []
            for f in frames {
                switch try p.process(f) {
                case .emit(let out): next += out
                case .withhold(let reason): return .withhold(reason: reason)
                }
            }
            frames = next
        }
        return .emit(frames)
    }

    public func finish() throws -> [LaneFrame] {
        var frames: [LaneFrame] = []
        for p in processors {
            var next: [LaneFrame] = []
            for f in frames {
                if case .emit(let out) = try p.process(f) { next += out }
            }
            frames = next + (try p.finish())
        }
        return frames
    }
}
