import CFFmpeg

/// Converts pictures between sizes and pixel formats (libswscale). Used from one serial queue.
public final class Scaler: @unchecked Sendable {
    private let context: OpaquePointer
    public let sourceWidth: Int, sourceHeight: Int, sourceFormat: AVPixelFormat
    public let width: Int, height: Int, format: AVPixelFormat

    public init(from sw: Int, _ sh: Int, _ sf: AVPixelFormat, to dw: Int, _ dh: Int, _ df: AVPixelFormat) throws {
        guard let c = sws_getContext(Int32(sw), Int32(sh), sf, Int32(dw), Int32(dh), df, SWS_BICUBIC, nil, nil, nil) else {
            throw MediaError(call: "sws_getContext", code: lc_averror_einval(),
                             message: "cannot convert \(Scaler.name(sf)) \(sw)x\(sh) to \(Scaler.name(df)) \(dw)x\(dh)")
        }
        context = c
        sourceWidth = sw; sourceHeight = sh; sourceFormat = sf
        width = dw; height = dh; format = df
    }
    deinit { sws_freeContext(context) }

    public func matches(_ frame: Frame) -> Bool {
        frame.width == sourceWidth && frame.height == sourceHeight && frame.pixelFormat == sourceFormat
    }

    /// Converts `frame` into a new frame, keeping its timestamps and properties.
    public func convert(_ frame: Frame) throws -> Frame {
        let out = try Frame.video(width: width, height: height, pixelFormat: format)
        try check(av_frame_copy_props(out.pointer, frame.pointer), "av_frame_copy_props")
        let src = frame.pointer
        let dst = out.pointer
        let r = withUnsafePointer(to: &src.pointee.data) { sd in
            withUnsafePointer(to: &src.pointee.linesize) { sl in
                withUnsafePointer(to: &dst.pointee.data) { dd in
                    withUnsafePointer(to: &dst.pointee.linesize) { dl in
                        sd.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { sdp in
                            dd.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { ddp in
                                sl.withMemoryRebound(to: Int32.self, capacity: 8) { slp in
                                    dl.withMemoryRebound(to: Int32.self, capacity: 8) { dlp in
                                        sws_scale(context, sdp, slp, 0, Int32(frame.height), ddp, dlp)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        try check(r, "sws_scale")
        return out
    }

    public static func name(_ f: AVPixelFormat) -> String { av_get_pix_fmt_name(f).map { String(cString: $0) } ?? "none" }
}
