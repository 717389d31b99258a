import AudioMark
import CFFmpeg
import MediaIO
import Overlay
import VideoMark

/// The video lane's invisible mark: adds the keyed video mark (`VideoMark`) to the luma of
/// exactly the frames whose media time is synthetic, in the frame's own pixel format. Chained
/// before the visible label, so the label is drawn over a marked picture and both coexist.
///
/// Fail-closed like the overlay: a synthetic frame it cannot mark throws, and the process stage
/// then withholds it rather than passing it on unmarked. Runs on the video lane's process queue.
public final class VideoMarkProcessor: FrameProcessor, @unchecked Sendable {
    private let embedder: VideoMarkEmbedder
    private var pool: VideoFramePool?
    private var converter: Scaler?

    /// Same key and payload id as the audio mark (`--key-file`, `--payload-id`).
    public init(settings: WatermarkSettings) {
        embedder = VideoMarkEmbedder(key: settings.key, payload: WatermarkPayload(synthetic: true, id: settings.payloadID))
    }

    public func process(_ lf: LaneFrame) throws -> ProcessResult {
        guard lf.synthetic else { return .emit([lf]) }
        var frame = lf.frame
        let layout: PixelLayout
        if let l = VisibleLabelProcessor.pixelLayout(frame) {
            layout = l
            if av_frame_is_writable(frame.pointer) == 0 {
                // The decoder still holds this picture (a reference frame): mark a copy.
                if pool == nil || !pool!.matches(frame) {
                    pool = try VideoFramePool(width: frame.width, height: frame.height, format: frame.pixelFormat)
                }
                frame = try pool!.copy(frame)
            }
        } else {
            // A format the blender does not take: marked (and then labeled) in yuv420p; the
            // encode stage converts on.
            if converter == nil || !converter!.matches(frame) {
                converter = try Scaler(from: frame.width, frame.height, frame.pixelFormat, to: frame.width, frame.height, AV_PIX_FMT_YUV420P)
            }
            frame = try converter!.convert(frame)
            layout = .yuv420p
        }
        guard let luma = frame.plane(0) else { throw MediaError(call: "video mark", code: 0, message: "frame has no luma plane") }
        let plane = LumaPlane(base: UnsafeMutableRawPointer(luma), width: frame.width, height: frame.height,
                              stride: frame.linesize(0), bitDepth: layout.bitDepth, msbAligned: layout.msbAligned)
        do { try embedder.mark(plane, time: lf.mediaTime) } catch let e as VideoMarkError {
            throw MediaError(call: "video mark", code: 0, message: e.description)
        }
        let out = frame === lf.frame ? lf : LaneFrame(frame: frame, mediaTime: lf.mediaTime, synthetic: lf.synthetic, trace: lf.trace)
        out.layers = lf.layers.union(.videoMark)
        out.labeled = true
        return .emit([out])
    }

    public func finish() throws -> [LaneFrame] { [] }
}
