import CFFmpeg

/// Settings for a video encoder. Options go to `avcodec_open2` as the codec's private options.
public struct VideoEncoderSettings: Sendable {
    public var codecName: String = "libx264"
    public var width: Int
    public var height: Int
    public var pixelFormat: AVPixelFormat
    public var timeBase: Rational
    public var frameRate: Rational
    public var bitRate: Int64 = 0
    public var gopSize: Int = 60
    public var threads: Int = 0
    public var sampleAspectRatio: Rational = Rational(0, 1)
    public var colorRange: AVColorRange = AVCOL_RANGE_UNSPECIFIED
    public var colorSpace: AVColorSpace = AVCOL_SPC_UNSPECIFIED
    public var colorPrimaries: AVColorPrimaries = AVCOL_PRI_UNSPECIFIED
    public var colorTransfer: AVColorTransferCharacteristic = AVCOL_TRC_UNSPECIFIED
    /// The input's field order (tt, bb…), carried into the output's codec parameters.
    public var fieldOrder: AVFieldOrder = AV_FIELD_UNKNOWN
    /// Interlaced coding (field-aware DCT and motion search; x264's `--interlaced`, with each
    /// frame's `top_field_first` choosing `--tff`/`--bff`): an interlaced input coded as
    /// progressive pictures smears its two fields into each other (combing a deinterlacer
    /// can no longer separate).
    public var interlaced = false
    /// Codec-private options, e.g. ["preset": "veryfast", "tune": "zerolatency", "crf": "23"].
    public var options: [String: String] = [:]
    public init(width: Int, height: Int, pixelFormat: AVPixelFormat, timeBase: Rational, frameRate: Rational) {
        self.width = width; self.height = height; self.pixelFormat = pixelFormat
        self.timeBase = timeBase; self.frameRate = frameRate
    }
}

/// Settings for an audio encoder.
public struct AudioEncoderSettings: Sendable {
    public var codecName: String = "aac"
    public var sampleRate: Int
    public var channels: Int
    public var bitRate: Int64 = 128_000
    /// The encoder's sample format; nil: planar float where it takes it, else its first.
    public var sampleFormat: AVSampleFormat? = nil
    /// Meaningful bits in each sample when fewer than the format holds (24 in s32: 24-bit
    /// FLAC); 0 leaves it to the encoder.
    public var bitsPerRawSample: Int = 0
    public var options: [String: String] = [:]
    public init(sampleRate: Int, channels: Int) { self.sampleRate = sampleRate; self.channels = channels }
}

/// An encoder. Used from one serial queue.
public final class Encoder: @unchecked Sendable {
    public let context: UnsafeMutablePointer<AVCodecContext>
    public let codecName: String
    public var timeBase: Rational { Rational(context.pointee.time_base) }
    /// Samples per frame the encoder requires (AAC: 1024), or 0 for any size.
    public var frameSize: Int {
        let fixed = (context.pointee.codec.pointee.capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) == 0
        return fixed ? Int(context.pointee.frame_size) : 0
    }
    public var sampleFormat: AVSampleFormat { context.pointee.sample_fmt }
    public var pixelFormat: AVPixelFormat { context.pointee.pix_fmt }
    public var sampleRate: Int { Int(context.pointee.sample_rate) }
    public var channels: Int { Int(context.pointee.ch_layout.nb_channels) }

    /// Pixel formats the named encoder accepts (empty when it does not say).
    public static func supportedPixelFormats(codecName: String) -> [AVPixelFormat] {
        guard let codec = avcodec_find_encoder_by_name(codecName), var p = codec.pointee.pix_fmts else { return [] }
        var out: [AVPixelFormat] = []
        while p.pointee != AV_PIX_FMT_NONE { out.append(p.pointee); p += 1 }
        return out
    }

    /// Sample formats the named encoder accepts.
    public static func supportedSampleFormats(codecName: String) -> [AVSampleFormat] {
        guard let codec = avcodec_find_encoder_by_name(codecName), var p = codec.pointee.sample_fmts else { return [] }
        var out: [AVSampleFormat] = []
        while p.pointee != AV_SAMPLE_FMT_NONE { out.append(p.pointee); p += 1 }
        return out
    }

    /// Whether this FFmpeg build has an encoder of that name.
    public static func exists(_ codecName: String) -> Bool { avcodec_find_encoder_by_name(codecName) != nil }

    private static func find(_ name: String) throws -> UnsafePointer<AVCodec> {
        guard let codec = avcodec_find_encoder_by_name(name) else {
            throw MediaError(call: "avcodec_find_encoder_by_name", code: lc_averror_encoder_not_found(),
                             message: "no encoder named '\(name)' in this FFmpeg build (see `ffmpeg -encoders`)")
        }
        return codec
    }

    private init(codec: UnsafePointer<AVCodec>, configure: (UnsafeMutablePointer<AVCodecContext>) throws -> Void,
                 options: [String: String], globalHeader: Bool) throws {
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError(call: "avcodec_alloc_context3", code: lc_averror_enomem()) }
        context = ctx
        codecName = String(cString: codec.pointee.name)
        try configure(ctx)
        if globalHeader { ctx.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER) }
        var dict = Dictionary_AV(options)
        let r = avcodec_open2(ctx, codec, &dict.pointer)
        let unused = dict.keys()
        dict.free()
        try check(r, "avcodec_open2", context: codecName)
        if !unused.isEmpty {
            throw MediaError(call: "avcodec_open2", code: lc_averror_einval(),
                             message: "encoder \(codecName) does not know the option(s) \(unused.joined(separator: ", "))")
        }
    }

    /// Opens a video encoder. `globalHeader` when the muxer wants extradata (AVFMT_GLOBALHEADER).
    public convenience init(video s: VideoEncoderSettings, globalHeader: Bool) throws {
        let codec = try Encoder.find(s.codecName)
        try self.init(codec: codec, configure: { ctx in
            ctx.pointee.width = Int32(s.width)
            ctx.pointee.height = Int32(s.height)
            ctx.pointee.pix_fmt = s.pixelFormat
            ctx.pointee.time_base = s.timeBase.av
            ctx.pointee.framerate = s.frameRate.av
            ctx.pointee.gop_size = Int32(s.gopSize)
            ctx.pointee.keyint_min = 1
            ctx.pointee.thread_count = Int32(s.threads)
            ctx.pointee.sample_aspect_ratio = s.sampleAspectRatio.av
            ctx.pointee.color_range = s.colorRange
            ctx.pointee.colorspace = s.colorSpace
            ctx.pointee.color_primaries = s.colorPrimaries
            ctx.pointee.color_trc = s.colorTransfer
            ctx.pointee.field_order = s.fieldOrder
            if s.interlaced { ctx.pointee.flags |= Int32(AV_CODEC_FLAG_INTERLACED_DCT | AV_CODEC_FLAG_INTERLACED_ME) }
            if s.bitRate > 0 {
                ctx.pointee.bit_rate = s.bitRate
                ctx.pointee.rc_max_rate = s.bitRate * 3 / 2
                ctx.pointee.rc_buffer_size = Int32(clamping: s.bitRate * 2)
            }
        }, options: s.options, globalHeader: globalHeader)
    }

    /// Opens an audio encoder at the given rate and channel count (default layout for the count).
    public convenience init(audio s: AudioEncoderSettings, globalHeader: Bool) throws {
        let codec = try Encoder.find(s.codecName)
        var formats: [AVSampleFormat] = []
        if var p = codec.pointee.sample_fmts { while p.pointee != AV_SAMPLE_FMT_NONE { formats.append(p.pointee); p += 1 } }
        let format = s.sampleFormat ?? (formats.contains(AV_SAMPLE_FMT_FLTP) ? AV_SAMPLE_FMT_FLTP : (formats.first ?? AV_SAMPLE_FMT_FLTP))
        try self.init(codec: codec, configure: { ctx in
            ctx.pointee.sample_rate = Int32(s.sampleRate)
            ctx.pointee.sample_fmt = format
            if s.bitsPerRawSample > 0 { ctx.pointee.bits_per_raw_sample = Int32(s.bitsPerRawSample) }
            lc_channel_layout_default(&ctx.pointee.ch_layout, Int32(s.channels))
            ctx.pointee.time_base = AVRational(num: 1, den: Int32(s.sampleRate))
            if s.bitRate > 0 { ctx.pointee.bit_rate = s.bitRate }
        }, options: s.options, globalHeader: globalHeader)
    }

    deinit {
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&c)
    }

    /// Sends a frame, or nil to start draining. `.full` means: receive first, then send again.
    public func send(_ frame: Frame?) throws -> CodecSendResult {
        let r = avcodec_send_frame(context, frame?.pointer)
        if r == lc_averror_eagain() { return .full }
        if r == lc_averror_eof() { return .accepted }
        try check(r, "avcodec_send_frame", context: codecName)
        return .accepted
    }

    /// Receives the next encoded packet (timestamps in the encoder's time base).
    public func receive() throws -> CodecReceiveResult<Packet> {
        let packet = Packet()
        let r = avcodec_receive_packet(context, packet.pointer)
        if r == lc_averror_eagain() { return .needsInput }
        if r == lc_averror_eof() { return .endOfStream }
        try check(r, "avcodec_receive_packet", context: codecName)
        return .output(packet)
    }

    /// Copies the encoder's parameters into a muxer stream (after `avcodec_open2`).
    public func copyParameters(to stream: UnsafeMutablePointer<AVStream>) throws {
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, context), "avcodec_parameters_from_context")
        stream.pointee.time_base = context.pointee.time_base
        if context.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            stream.pointee.avg_frame_rate = context.pointee.framerate
            stream.pointee.sample_aspect_ratio = context.pointee.sample_aspect_ratio
        }
    }
}
