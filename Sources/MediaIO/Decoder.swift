import CFFmpeg

/// The answer of a send/receive codec call, so flow is not expressed with thrown errors.
public enum CodecSendResult: Sendable { case accepted, full }
public enum CodecReceiveResult<Output> { case output(Output), needsInput, endOfStream }

/// A decoder for one input stream. Used from one serial queue.
public final class Decoder: @unchecked Sendable {
    public let context: UnsafeMutablePointer<AVCodecContext>
    public let timeBase: Rational
    public let kind: StreamInfo.Kind

    /// Opens the decoder for `stream` with FFmpeg's automatic threading. `lowDelay` (live
    /// inputs) uses slice threads only: frame threads hold one frame per thread, which on a
    /// live stream is that many frame durations of added latency.
    public init(stream: UnsafeMutablePointer<AVStream>, threads: Int = 0, lowDelay: Bool = false) throws {
        let par = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            let name = avcodec_get_name(par.pointee.codec_id).map { String(cString: $0) } ?? "?"
            throw MediaError(call: "avcodec_find_decoder", code: lc_averror_stream_not_found(),
                             message: "no decoder for codec '\(name)' in this FFmpeg build")
        }
        guard let ctx = avcodec_alloc_context3(codec) else {
            throw MediaError(call: "avcodec_alloc_context3", code: lc_averror_enomem())
        }
        context = ctx
        timeBase = Rational(stream.pointee.time_base)
        kind = par.pointee.codec_type == AVMEDIA_TYPE_VIDEO ? .video : (par.pointee.codec_type == AVMEDIA_TYPE_AUDIO ? .audio : .other)
        try check(avcodec_parameters_to_context(ctx, par), "avcodec_parameters_to_context")
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        ctx.pointee.thread_count = Int32(threads)
        // Not AV_CODEC_FLAG_LOW_DELAY: it disables reordering, and a stream with B-frames
        // then decodes to nothing.
        if lowDelay { ctx.pointee.thread_type = FF_THREAD_SLICE }
        if kind == .video { ctx.pointee.framerate = stream.pointee.avg_frame_rate }
        try check(avcodec_open2(ctx, codec, nil), "avcodec_open2", context: String(cString: codec.pointee.name))
    }

    deinit {
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&c)
    }

    /// Sends a packet, or nil to start draining. `.full` means: receive first, then send again.
    public func send(_ packet: Packet?) throws -> CodecSendResult {
        let r = avcodec_send_packet(context, packet?.pointer)
        if r == lc_averror_eagain() { return .full }
        if r == lc_averror_eof() { return .accepted } // already draining
        try check(r, "avcodec_send_packet")
        return .accepted
    }

    /// Receives the next decoded frame; its pts is the best-effort timestamp.
    public func receive() throws -> CodecReceiveResult<Frame> {
        let frame = Frame()
        let r = avcodec_receive_frame(context, frame.pointer)
        if r == lc_averror_eagain() { return .needsInput }
        if r == lc_averror_eof() { return .endOfStream }
        try check(r, "avcodec_receive_frame")
        frame.pts = frame.bestEffortTimestamp
        return .output(frame)
    }

    /// After a flush at end of stream, makes the decoder usable again (e.g. after a reconnect).
    public func reset() { avcodec_flush_buffers(context) }
}
