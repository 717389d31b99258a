import Foundation
import CFFmpeg
import MediaIO
import Overlay

/// The video lane's labeling: burns the visible label into the picture of synthetic frames, in
/// the frame's own pixel format (no colour-space round trip), when the style's timing says so:
/// the whole segment (`continuous`), its opening seconds (`start`), or its start and reminders
/// (`interval`, the EU code's repeat in long content).
///
/// GB 45438: a label, once shown at a segment's start, stays at least 2 s — a 0.5 s segment
/// carries it for 2 s. The label's white follows the picture's transfer: the range's white for
/// SDR, reference white (203 cd/m², BT.2408) for PQ and HLG. On a stream with a display
/// rotation the label is laid out on the picture as displayed (``PictureOrientation``), so it
/// reads upright in its corner once the player turns the picture.
///
/// For the gate before the encoder: `frame.labeled` is set only on frames it drew on, and
/// ``mustLabel(at:)`` says whether the timing requires the label on a synthetic frame at a
/// media time (between reminders it does not).
/// Runs on the video lane's process queue only.
public final class VisibleLabelProcessor: FrameProcessor, @unchecked Sendable {
    /// The GB 45438 minimum display time of a label from its first frame.
    public static let minimumDisplaySeconds = LabelTiming.minimumDisplay

    /// When the label shows within a segment.
    public let timing: LabelTiming
    /// The stream's transfer as the lane was set up with (a frame's own tag wins when it has one).
    public let streamColour: PictureColour
    private let painter: LabelPainter
    /// Media time of the first frame of the current (or last) synthetic segment.
    private var segmentStart: Double?
    private var wasSynthetic = false
    /// Recent segment starts, oldest first, for ``mustLabel(at:)``: the gate asks about a frame
    /// later, from another queue, when this lane may already have seen the next segment begin.
    private var recentStarts: [Double] = []
    private let startsLock = NSLock()
    private let picture = WritablePicture()

    /// Prepares the label for a stream: finds fonts and checks the label fits the frame, so a
    /// problem is a start-up error rather than withheld frames later.
    public init(style: LabelStyle, format: VideoStreamFormat) throws {
        timing = style.timing
        streamColour = Self.colour(transferName: format.colorTransfer, matrixName: format.colorSpace, height: format.height)
        painter = try LabelPainter(style: style, orientation: PictureOrientation(rotation: format.rotation))
        try painter.prepare(width: format.width, height: format.height)
    }

    /// Whether the profile's timing requires the label on a *synthetic* frame at `mediaTime`:
    /// measured from the start of the segment that frame belongs to (the latest segment start at
    /// or before it that ``process(_:)`` has seen). Ask only about frames already processed;
    /// safe from any queue (the encoder's gate), costs a short lock and a scan of at most 64
    /// remembered starts. Non-synthetic frames never need the label (the 2 s hold after a short
    /// segment is drawn but not required).
    public func mustLabel(at mediaTime: Double) -> Bool {
        let start = startsLock.withLock { recentStarts.last { $0 <= mediaTime + 1e-9 } }
        guard let start else { return false }
        return timing.required(secondsIntoSegment: mediaTime - start)
    }

    /// ``mustLabel(at:)`` as a closure, for a gate that holds no reference to the processor type.
    public var requiresLabelOn: @Sendable (Double) -> Bool {
        { [self] t in mustLabel(at: t) }
    }

    public func process(_ lf: LaneFrame) throws -> ProcessResult {
        let t = lf.mediaTime
        if lf.synthetic && (!wasSynthetic || segmentStart.map { t < $0 } ?? true) {
            segmentStart = t  // a new segment (or time went back): its start counts from here
            startsLock.withLock {
                recentStarts.removeAll { $0 >= t }  // time went back: later starts no longer hold
                recentStarts.append(t)
                if recentStarts.count > 64 { recentStarts.removeFirst(recentStarts.count - 64) }
            }
        }
        wasSynthetic = lf.synthetic
        guard let start = segmentStart, timing.shows(secondsIntoSegment: t - start, inSegment: lf.synthetic) else {
            return .emit([lf])
        }
        let (frame, layout) = try picture.prepare(lf.frame)
        let planeCount = layout.semiPlanar ? 2 : 3
        var planes: [UnsafeMutablePointer<UInt8>] = []
        var linesizes: [Int] = []
        for i in 0..<planeCount {
            guard let p = frame.plane(i) else { throw MediaError(call: "label", code: 0, message: "frame has no plane \(i)") }
            planes.append(p)
            linesizes.append(frame.linesize(i))
        }
        let colour = Self.colour(transferName: Self.name(av_color_transfer_name(frame.pointer.pointee.color_trc)),
                                 matrixName: Self.name(av_color_space_name(frame.pointer.pointee.colorspace)),
                                 height: frame.height, fallback: streamColour)
        try painter.paint(planes: planes, linesizes: linesizes, width: frame.width, height: frame.height, layout: layout, colour: colour)
        let out = lf.carrying(frame)
        out.layers = lf.layers
        out.labeled = true
        out.layers.insert(.overlay)
        return .emit([out])
    }

    public func finish() throws -> [LaneFrame] { [] }

    private static func name(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "unknown" }

    /// The label's colour handling for FFmpeg's names of a transfer (`smpte2084`, `arib-std-b67`,
    /// `bt709`…) and matrix (`bt2020nc`, `bt709`, `smpte170m`…). Unspecified ones fall back to
    /// `fallback`, or to SDR with BT.709 (BT.601 below 720 lines, as players assume).
    static func colour(transferName: String, matrixName: String, height: Int, fallback: PictureColour? = nil) -> PictureColour {
        let transfer: PictureTransfer
        switch transferName {
        case "smpte2084": transfer = .pq
        case "arib-std-b67": transfer = .hlg
        case "unknown", "unspecified", "reserved", "": transfer = fallback?.transfer ?? .sdr
        default: transfer = .sdr
        }
        let matrix: YCbCrMatrix
        switch matrixName {
        case "bt2020nc", "bt2020c": matrix = .bt2020
        case "bt709": matrix = .bt709
        case "smpte170m", "bt470bg", "fcc", "smpte240m": matrix = .bt601
        default: matrix = fallback?.matrix ?? (transfer == .sdr ? (height < 720 ? .bt601 : .bt709) : .bt2020)
        }
        return PictureColour(transfer: transfer, matrix: matrix)
    }

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
