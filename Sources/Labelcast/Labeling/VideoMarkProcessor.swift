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
    private let picture = WritablePicture()

    /// Same key and payload id as the audio mark (`--key-file`, `--payload-id`).
    public init(settings: WatermarkSettings) {
        embedder = VideoMarkEmbedder(key: settings.key, payload: WatermarkPayload(synthetic: true, id: settings.payloadID))
    }

    public func process(_ lf: LaneFrame) throws -> ProcessResult {
        guard lf.synthetic else { return .emit([lf]) }
        let (frame, layout) = try picture.prepare(lf.frame)
        guard let luma = frame.plane(0) else { throw MediaError(call: "video mark", code: 0, message: "frame has no luma plane") }
        let plane = LumaPlane(base: UnsafeMutableRawPointer(luma), width: frame.width, height: frame.height,
                              stride: frame.linesize(0), bitDepth: layout.bitDepth, msbAligned: layout.msbAligned)
        do { try embedder.mark(plane, time: lf.mediaTime) } catch let e as VideoMarkError {
            throw MediaError(call: "video mark", code: 0, message: e.description)
        }
        let out = lf.carrying(frame)
        out.layers = lf.layers.union(.videoMark)
        out.labeled = true
        return .emit([out])
    }

    public func finish() throws -> [LaneFrame] { [] }
}
