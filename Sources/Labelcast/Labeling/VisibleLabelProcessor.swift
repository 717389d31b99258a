import CFFmpeg
import MediaIO
import Overlay

/// The video lane's labeling: burns the visible label into the picture of every frame whose
/// media time is synthetic, in the frame's own pixel format (no colour-space round trip).
///
/// GB 45438: a label, once shown, stays at least 2 s — a 0.5 s segment carries it for 2 s.
/// Runs on the video lane's process queue only.
public final class VisibleLabelProcessor: FrameProcessor, @unchecked Sendable {
    /// The GB 45438 minimum display time of a label from its first frame.
    public static let minimumDisplaySeconds = 2.0

    private let painter: LabelPainter
    private var shownSince: Double?
    /// For pixel formats the blender does not take: converted, labeled, converted on by the encoder stage.
    private var converter: Scaler?
    private var pool: VideoFramePool?

    /// Prepares the label for a stream: finds fonts and checks the label fits the frame, so a
    /// problem is a start-up error rather than withheld frames later.
    public init(style: LabelStyle, format: VideoStreamFormat) throws {
        painter = try LabelPainter(style: style)
        try painter.prepare(width: format.width, height: format.height)
    }

    public func process(_ lf: LaneFrame) throws -> ProcessResult {
        let t = lf.mediaTime
        if lf.synthetic {
            if shownSince == nil { shownSince = t }
        } else if let since = shownSince, t >= since + Self.minimumDisplaySeconds || t < since {
            shownSince = nil
        }
        guard shownSince != nil else { return .emit([lf]) }
        var frame = lf.frame
        let layout: PixelLayout
        if let l = Self.pixelLayout(frame) {
            layout = l
            if av_frame_is_writable(frame.pointer) == 0 {
                // The decoder still holds this picture (a reference frame): paint on a copy,
                // in a buffer from the pool rather than a fresh one each frame.
                if pool == nil || !pool!.matches(frame) {
                    pool = try VideoFramePool(width: frame.width, height: frame.height, format: frame.pixelFormat)
                }
                frame = try pool!.copy(frame)
            }
        } else {
            if converter == nil || !converter!.matches(frame) {
                converter = try Scaler(from: frame.width, frame.height, frame.pixelFormat, to: frame.width, frame.height, AV_PIX_FMT_YUV420P)
            }
            frame = try converter!.convert(frame)
            layout = .yuv420p
        }
        let planeCount = layout.semiPlanar ? 2 : 3
        var planes: [UnsafeMutablePointer<UInt8>] = []
        var linesizes: [Int] = []
        for i in 0..<planeCount {
            guard let p = frame.plane(i) else { throw MediaError(call: "label", code: 0, message: "frame has no plane \(i)") }
            planes.append(p)
            linesizes.append(frame.linesize(i))
        }
        try painter.paint(planes: planes, linesizes: linesizes, width: frame.width, height: frame.height, layout: layout)
        let out = frame === lf.frame ? lf : LaneFrame(frame: frame, mediaTime: lf.mediaTime, synthetic: lf.synthetic, trace: lf.trace)
        out.layers = lf.layers
        out.labeled = true
        return .emit([out])
    }

    public func finish() throws -> [LaneFrame] { [] }

    /// The blender's description of an FFmpeg pixel format, or nil when it must be converted.
    static func pixelLayout(_ frame: Frame) -> PixelLayout? {
        let fullRange = frame.pointer.pointee.color_range == AVCOL_RANGE_JPEG
        switch frame.pixelFormat {
        case AV_PIX_FMT_YUV420P: return fullRange ? .yuvj420p : .yuv420p
        case AV_PIX_FMT_YUVJ420P: return .yuvj420p
        case AV_PIX_FMT_YUV422P: return fullRange ? .yuvj422p : .yuv422p
        case AV_PIX_FMT_YUVJ422P: return .yuvj422p
        case AV_PIX_FMT_YUV444P: return fullRange ? .yuvj444p : .yuv444p
        case AV_PIX_FMT_YUVJ444P: return .yuvj444p
        case AV_PIX_FMT_NV12: return fullRange ? PixelLayout(chromaShiftX: 1, chromaShiftY: 1, semiPlanar: true, fullRange: true) : .nv12
        case AV_PIX_FMT_YUV420P10LE: return .yuv420p10le
        case AV_PIX_FMT_YUV422P10LE: return .yuv422p10le
        case AV_PIX_FMT_YUV444P10LE: return .yuv444p10le
        case AV_PIX_FMT_P010LE: return .p010le
        default: return nil
        }
    }
}
