import CFFmpeg

/// Converts a text subtitle stream to the text codec an output container carries (SubRip or
/// ASS into MP4's mov_text, mov_text into Matroska's ASS or WebM's WebVTT), one event at a
/// time, as the ffmpeg CLI does: decode to FFmpeg's ASS events, encode them again. Only text
/// to text: bitmap subtitles cannot be converted without OCR.
public final class SubtitleTranscoder: @unchecked Sendable {
    private let decoder: UnsafeMutablePointer<AVCodecContext>
    public let encoder: UnsafeMutablePointer<AVCodecContext>
    public let outputCodecName: String
    /// The input stream's time base (packets in, packets out).
    public let timeBase: Rational
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    /// Whether `codec` is a text subtitle codec (SubRip, ASS, mov_text, WebVTT, …).
    public static func isText(_ codec: AVCodecID) -> Bool {
        guard let d = avcodec_descriptor_get(codec) else { return false }
        return d.pointee.props & AV_CODEC_PROP_TEXT_SUB != 0
    }

    public init(stream: UnsafeMutablePointer<AVStream>, to codecID: AVCodecID) throws {
        let par = stream.pointee.codecpar!
        guard let dcodec = avcodec_find_decoder(par.pointee.codec_id), let ecodec = avcodec_find_encoder(codecID) else {
            throw MediaError(call: "avcodec_find_encoder", code: lc_averror_stream_not_found(), message: "no subtitle decoder or encoder for this conversion")
        }
        guard let d = avcodec_alloc_context3(dcodec) else { throw MediaError(call: "avcodec_alloc_context3", code: lc_averror_enomem()) }
        decoder = d
        guard let e = avcodec_alloc_context3(ecodec) else {
            var dd: UnsafeMutablePointer<AVCodecContext>? = d
            avcodec_free_context(&dd)
            throw MediaError(call: "avcodec_alloc_context3", code: lc_averror_enomem())
        }
        encoder = e
        timeBase = Rational(stream.pointee.time_base)
        outputCodecName = String(cString: ecodec.pointee.name)
        try check(avcodec_parameters_to_context(d, par), "avcodec_parameters_to_context")
        d.pointee.pkt_timebase = stream.pointee.time_base
        try check(avcodec_open2(d, dcodec, nil), "avcodec_open2 (subtitle decoder)")
        e.pointee.time_base = stream.pointee.time_base
        e.pointee.width = par.pointee.width
        e.pointee.height = par.pointee.height
        // The encoder styles events with the decoder's ASS header, as the ffmpeg CLI does.
        if let header = d.pointee.subtitle_header, d.pointee.subtitle_header_size > 0 {
            let size = Int(d.pointee.subtitle_header_size)
            guard let copy = av_mallocz(size + 1) else { throw MediaError(call: "av_mallocz", code: lc_averror_enomem()) }
            copy.copyMemory(from: header, byteCount: size)
            e.pointee.subtitle_header = copy.assumingMemoryBound(to: UInt8.self)
            e.pointee.subtitle_header_size = Int32(size)
        }
        try check(avcodec_open2(e, ecodec, nil), "avcodec_open2 (subtitle encoder \(outputCodecName))")
    }

    deinit {
        var d: UnsafeMutablePointer<AVCodecContext>? = decoder
        avcodec_free_context(&d)
        var e: UnsafeMutablePointer<AVCodecContext>? = encoder
        avcodec_free_context(&e)
    }

    /// The converted packet of one input packet (nil when it held no event), timed as the
    /// decoder times the event: CEA-608 captions (`eia_608`) come out when the screen they
    /// were built on is shown or cleared, so an event's time is the decoder's, not the packet's.
    public func convert(_ packet: Packet) throws -> Packet? {
        var sub = AVSubtitle()
        var got: Int32 = 0
        try check(avcodec_decode_subtitle2(decoder, &sub, &got, packet.pointer), "avcodec_decode_subtitle2")
        guard got != 0 else { return nil }
        defer { avsubtitle_free(&sub) }
        return try encode(&sub, packetPTS: packet.pts, packetDTS: packet.dts, packetDuration: packet.duration)
    }

    /// At the end of the stream: the event a delaying decoder still holds (a caption on screen
    /// until the end), or nil.
    public func flush() throws -> Packet? {
        guard (decoder.pointee.codec.pointee.capabilities & AV_CODEC_CAP_DELAY) != 0 else { return nil }
        let empty = Packet()
        var sub = AVSubtitle()
        var got: Int32 = 0
        try check(avcodec_decode_subtitle2(decoder, &sub, &got, empty.pointer), "avcodec_decode_subtitle2 (flush)")
        guard got != 0 else { return nil }
        defer { avsubtitle_free(&sub) }
        return try encode(&sub, packetPTS: MediaTime.noPTS, packetDTS: MediaTime.noPTS, packetDuration: 0)
    }

    /// Encodes a decoded event; its time is the event's own (`pts` plus the display start, as
    /// the ffmpeg CLI takes it), the packet's when the decoder gives none.
    private func encode(_ sub: inout AVSubtitle, packetPTS: Int64, packetDTS: Int64, packetDuration: Int64) throws -> Packet? {
        guard sub.num_rects > 0 else { return nil }
        var pts = packetPTS
        var duration = packetDuration
        if sub.pts != MediaTime.noPTS {
            pts = MediaTime.rescale(sub.pts, from: MediaTime.internalTimeBase, to: timeBase)
                + MediaTime.rescale(Int64(sub.start_display_time), from: Rational(1, 1000), to: timeBase)
        }
        guard pts != MediaTime.noPTS else { return nil }
        if sub.end_display_time > sub.start_display_time && sub.end_display_time != UInt32.max {
            duration = MediaTime.rescale(Int64(sub.end_display_time - sub.start_display_time), from: Rational(1, 1000), to: timeBase)
        }
        sub.end_display_time -= min(sub.end_display_time, sub.start_display_time)
        sub.start_display_time = 0
        let n = buffer.withUnsafeMutableBufferPointer { avcodec_encode_subtitle(encoder, $0.baseAddress, Int32($0.count), &sub) }
        guard n > 0 else {
            if n < 0 { throw MediaError(call: "avcodec_encode_subtitle", code: n) }
            return nil
        }
        let out = Packet()
        try check(av_new_packet(out.pointer, n), "av_new_packet")
        buffer.withUnsafeBufferPointer { out.pointer.pointee.data.update(from: $0.baseAddress!, count: Int(n)) }
        out.pts = pts
        out.dts = pts == packetPTS && packetDTS != MediaTime.noPTS ? packetDTS : pts
        out.duration = max(0, duration)
        out.pointer.pointee.flags |= AV_PKT_FLAG_KEY
        return out
    }

    /// Sets the output stream's parameters from the encoder.
    public func copyParameters(to stream: UnsafeMutablePointer<AVStream>) throws {
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, encoder), "avcodec_parameters_from_context")
        stream.pointee.time_base = timeBase.av
    }
}
