import CFFmpeg
import MediaIO
import Overlay

/// A frame a labeling step may change in place, in a layout the blender takes: the frame
/// itself when it is writable; a copy in a pooled buffer when the decoder still holds it (a
/// reference frame); for a pixel format the blender does not take, a yuv420p conversion (the
/// encode stage converts on). Shared by the visible label and the video mark. One lane's
/// process queue only.
final class WritablePicture {
    private var pool: VideoFramePool?
    private var converter: Scaler?

    func prepare(_ source: Frame) throws -> (frame: Frame, layout: PixelLayout) {
        if let layout = VisibleLabelProcessor.pixelLayout(source) {
            guard av_frame_is_writable(source.pointer) == 0 else { return (source, layout) }
            if pool == nil || !pool!.matches(source) {
                pool = try VideoFramePool(width: source.width, height: source.height, format: source.pixelFormat)
            }
            return (try pool!.copy(source), layout)
        }
        if converter == nil || !converter!.matches(source) {
            converter = try Scaler(from: source.width, source.height, source.pixelFormat, to: source.width, source.height, AV_PIX_FMT_YUV420P)
        }
        return (try converter!.convert(source), .yuv420p)
    }
}
