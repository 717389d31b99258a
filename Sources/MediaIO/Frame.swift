import CFFmpeg

/// An owned AVFrame (video picture or audio samples). `@unchecked Sendable` under the same rule
/// as `Packet`: one owner at a time, handed on and never touched by the sender afterwards.
public final class Frame: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<AVFrame>

    public init() {
        guard let f = av_frame_alloc() else { fatalError("av_frame_alloc: out of memory") }
        pointer = f
    }
    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&f)
    }

    /// A new video frame with its own buffers.
    public static func video(width: Int, height: Int, pixelFormat: AVPixelFormat) throws -> Frame {
        let frame = Frame()
        frame.pointer.pointee.width = Int32(width)
        frame.pointer.pointee.height = Int32(height)
        frame.pointer.pointee.format = pixelFormat.rawValue
        try check(av_frame_get_buffer(frame.pointer, 0), "av_frame_get_buffer")
        return frame
    }

    /// A new planar or packed audio frame with its own buffers.
    public static func audio(samples: Int, format: AVSampleFormat, channels: Int, sampleRate: Int) throws -> Frame {
        let frame = Frame()
        frame.pointer.pointee.nb_samples = Int32(samples)
        frame.pointer.pointee.format = format.rawValue
        frame.pointer.pointee.sample_rate = Int32(sampleRate)
        lc_channel_layout_default(&frame.pointer.pointee.ch_layout, Int32(channels))
        try check(av_frame_get_buffer(frame.pointer, 0), "av_frame_get_buffer")
        return frame
    }

    public var pts: Int64 { get { pointer.pointee.pts } set { pointer.pointee.pts = newValue } }
    public var bestEffortTimestamp: Int64 { pointer.pointee.best_effort_timestamp }
    public var width: Int { Int(pointer.pointee.width) }
    public var height: Int { Int(pointer.pointee.height) }
    public var pixelFormat: AVPixelFormat { AVPixelFormat(rawValue: pointer.pointee.format) }
    public var sampleFormat: AVSampleFormat { AVSampleFormat(rawValue: pointer.pointee.format) }
    public var sampleCount: Int { Int(pointer.pointee.nb_samples) }
    public var sampleRate: Int { Int(pointer.pointee.sample_rate) }
    public var channelCount: Int { Int(pointer.pointee.ch_layout.nb_channels) }
    public var durationInTimeBase: Int64 { pointer.pointee.pkt_duration }

    /// Data plane `i` (FFmpeg's data[i]).
    public func plane(_ i: Int) -> UnsafeMutablePointer<UInt8>? {
        withUnsafeMutablePointer(to: &pointer.pointee.data) { tuple in
            tuple.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { $0[i] }
        }
    }
    /// Line size of plane `i` in bytes (FFmpeg's linesize[i]).
    public func linesize(_ i: Int) -> Int {
        withUnsafeMutablePointer(to: &pointer.pointee.linesize) { tuple in
            tuple.withMemoryRebound(to: Int32.self, capacity: 8) { Int($0[i]) }
        }
    }
    /// extended_data, for audio with more than 8 channels as well as fewer.
    public func audioChannel(_ i: Int) -> UnsafeMutablePointer<UInt8>? {
        pointer.pointee.extended_data?[i]
    }

    /// Makes sure the buffers are not shared (copies them when they are), so the frame can be
    /// written in place without touching a frame a decoder or encoder still references.
    public func makeWritable() throws {
        try check(av_frame_make_writable(pointer), "av_frame_make_writable")
    }

    /// A new reference to the same buffers (av_frame_ref).
    public func reference() throws -> Frame {
        let f = Frame()
        try check(av_frame_ref(f.pointer, pointer), "av_frame_ref")
        return f
    }

    public func unref() { av_frame_unref(pointer) }
}

/// Reused picture buffers of one size and format, for writable copies of frames a decoder
/// still references (as ffmpeg's filters take theirs from a frame pool): a fresh multi-MB
/// buffer per frame costs page faults and kernel time. Thread-safe (AVBufferPool is); a buffer
/// goes back to the pool when the last frame using it (the encoder's included) lets go.
public final class VideoFramePool: @unchecked Sendable {
    public let width: Int
    public let height: Int
    public let format: AVPixelFormat
    private var pool: OpaquePointer?

    public init(width: Int, height: Int, format: AVPixelFormat) throws {
        let size = av_image_get_buffer_size(format, Int32(width), Int32(height), 64)
        try check(size, "av_image_get_buffer_size")
        // + 64: room for SIMD reads past the last line, as av_frame_get_buffer leaves.
        guard let p = av_buffer_pool_init(Int(size) + 64, nil) else {
            throw MediaError(call: "av_buffer_pool_init", code: lc_averror_enomem())
        }
        pool = p
        self.width = width; self.height = height; self.format = format
    }
    deinit { av_buffer_pool_uninit(&pool) }

    public func matches(_ frame: Frame) -> Bool {
        frame.width == width && frame.height == height && frame.pixelFormat == format
    }

    /// A writable copy of `frame` (pixels and properties: pts, colour, …) in a pooled buffer.
    public func copy(_ frame: Frame) throws -> Frame {
        let out = Frame()
        try check(lc_frame_get_pooled(out.pointer, pool, format, Int32(width), Int32(height)), "av_buffer_pool_get")
        try check(av_frame_copy(out.pointer, frame.pointer), "av_frame_copy")
        try check(av_frame_copy_props(out.pointer, frame.pointer), "av_frame_copy_props")
        return out
    }
}
