import MediaIO

/// A lane of the pipeline: one per input stream the output carries. Processed lanes (every
/// video and every audio track) decode, label and encode; copied lanes (subtitles, data,
/// attachments) pass the input's packets to the muxer. `track` counts the lanes of one kind
/// in input order, so the first of each kind keeps the plain name ("video", "audio") the frame
/// log, the report and the metrics have always used, and further tracks read "audio2", ….
public struct Lane: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case video, audio, subtitle, data, attachment
        /// Whether lanes of this kind carry decoded frames that the labels go on.
        public var isProcessed: Bool { self == .video || self == .audio }
    }
    public let kind: Kind
    /// 0 for the first lane of its kind.
    public let track: Int
    public init(_ kind: Kind, track: Int = 0) { self.kind = kind; self.track = track }

    public static let video = Lane(.video)
    public static let audio = Lane(.audio)

    public var rawValue: String { track == 0 ? kind.rawValue : "\(kind.rawValue)\(track + 1)" }
    public var description: String { rawValue }
    /// The first lane of the same kind (telemetry aggregates the tracks of one kind).
    public var firstOfKind: Lane { Lane(kind) }

    public init?(rawValue: String) {
        guard let kind = Kind.allCases.first(where: { rawValue.hasPrefix($0.rawValue) }) else { return nil }
        let rest = rawValue.dropFirst(kind.rawValue.count)
        if rest.isEmpty { self.init(kind); return }
        guard let n = Int(rest), n >= 2 else { return nil }
        self.init(kind, track: n - 1)
    }

    public static func < (a: Lane, b: Lane) -> Bool {
        let ka = Kind.allCases.firstIndex(of: a.kind)!, kb = Kind.allCases.firstIndex(of: b.kind)!
        return ka != kb ? ka < kb : a.track < b.track
    }
}

extension Lane: Codable {
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let lane = Lane(rawValue: s) else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a lane: \(s)") }
        self = lane
    }
    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
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
    /// The labeling layers applied to this frame, each inserted by the processor that applied
    /// it. The gate before the encoder checks these, not `labeled`.
    public var layers: LabelLayers = []
    /// `--copy-unlabeled`: the DTS (input time base) this picture is encoded with, so the
    /// re-encoded stretch keeps the input's DTS sequence between copied GOPs.
    var codedDTS: Int64?
    public init(frame: Frame, mediaTime: Double, synthetic: Bool, trace: FrameTrace) {
        self.frame = frame; self.mediaTime = mediaTime; self.synthetic = synthetic; self.trace = trace
    }

    /// This picture in another frame (a processor that could not write in place, a size
    /// conversion): everything else carried over, `codedDTS` included; `self` when `frame`
    /// is its own. (A copy that dropped the coded DTS put a re-encoded stretch's DTS onto
    /// its pts, out of order with the copied GOP after it, whenever the decoder's frames
    /// were not writable: HEVC's are not.)
    public func carrying(_ frame: Frame) -> LaneFrame {
        guard frame !== self.frame else { return self }
        let out = LaneFrame(frame: frame, mediaTime: mediaTime, synthetic: synthetic, trace: trace)
        out.labeled = labeled
        out.layers = layers
        out.codedDTS = codedDTS
        return out
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
/// watermark). A frame withheld by one is not shown to the next. What it withholds while
/// finishing (frames a first processor released at the end that a later one refused) is kept
/// in `withheldAtFinish`, so the lane can count it.
public final class ProcessorChain: FrameProcessor, @unchecked Sendable {
    public let processors: [any FrameProcessor]
    /// Reasons of the frames withheld during `finish()`, one entry per frame.
    public private(set) var withheldAtFinish: [String] = []
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
                let result: ProcessResult
                do { result = try p.process(f) } catch {
                    // As in the lane: a synthetic frame that could not be labeled is withheld.
                    guard f.synthetic else { throw error }
                    result = .withhold(reason: "label-failed")
                }
                switch result {
                case .emit(let out): next += out
                case .withhold(let reason): withheldAtFinish.append(reason)
                }
            }
            frames = next + (try p.finish())
        }
        return frames
    }
}
