import CFFmpeg

extension Muxer {
    /// Adds a stream fed by a subtitle converter; returns its index.
    public func addStream(subtitles converter: SubtitleTranscoder) throws -> Int {
        guard let s = avformat_new_stream(context, nil) else { throw MediaError(call: "avformat_new_stream", code: lc_averror_enomem()) }
        try converter.copyParameters(to: s)
        return Int(s.pointee.index)
    }

    /// Sets an output stream's tags (language, title, handler name, timecode, …).
    public func setStreamMetadata(_ index: Int, _ tags: [String: String]) {
        let st = context.pointee.streams[index]!
        for (k, v) in tags { av_dict_set(&st.pointee.metadata, k, v, 0) }
    }

    /// Sets an output stream's disposition flags (default, forced, hearing impaired, comment, …).
    public func setDisposition(_ index: Int, _ disposition: Int32) {
        context.pointee.streams[index]!.pointee.disposition = disposition
    }

    /// Bounds how long the interleaver holds packets while waiting for a sparse stream
    /// (subtitles, data) to have one: FFmpeg's default is 10 s, a live output's whole latency.
    public func limitInterleaveDelay(microseconds: Int64) {
        if context.pointee.max_interleave_delta > microseconds { context.pointee.max_interleave_delta = microseconds }
    }

    /// Adds a program (MPEG-TS service) holding the given output streams, with its tags
    /// (`service_name`, `service_provider`).
    public func addProgram(id: Int32, streams: [Int], tags: [String: String]) {
        guard let p = av_new_program(context, id) else { return }
        for (k, v) in tags { av_dict_set(&p.pointee.metadata, k, v, 0) }
        for s in streams { av_program_add_stream_index(context, id, UInt32(s)) }
    }

    /// Adds an output stream to every program (a stream labelcast adds, e.g. its timed metadata).
    public func addToEveryProgram(_ stream: Int) {
        for i in 0..<Int(context.pointee.nb_programs) {
            av_program_add_stream_index(context, context.pointee.programs[i]!.pointee.id, UInt32(stream))
        }
    }
}

extension Demuxer {
    /// The input's chapters, in seconds of the input's clock.
    public var chapters: [(start: Double, end: Double, title: String)] {
        (0..<Int(context.pointee.nb_chapters)).compactMap { i in
            guard let c = context.pointee.chapters[i] else { return nil }
            let tb = Rational(c.pointee.time_base)
            let title = av_dict_get(c.pointee.metadata, "title", nil, 0).map { String(cString: $0.pointee.value) } ?? ""
            return (Double(c.pointee.start) * tb.double, Double(c.pointee.end) * tb.double, title)
        }
    }

    /// The input's programs (MPEG-TS services): id, member stream indices, tags.
    public var programs: [(id: Int32, streams: [Int], tags: [String: String])] {
        (0..<Int(context.pointee.nb_programs)).compactMap { i in
            guard let p = context.pointee.programs[i] else { return nil }
            let members = (0..<Int(p.pointee.nb_stream_indexes)).map { Int(p.pointee.stream_index[$0]) }
            return (p.pointee.id, members, Dictionary_AV.read(p.pointee.metadata))
        }
    }

    /// A stream's tags and disposition.
    public func streamTags(_ index: Int) -> [String: String] { Dictionary_AV.read(stream(index).pointee.metadata) }
    public func disposition(_ index: Int) -> Int32 { stream(index).pointee.disposition }
}

extension Muxer {
    /// The file name and MIME type a Matroska cover attachment of this picture codec takes
    /// (`cover.jpg`/`cover.png`, the Matroska convention readers look for); nil for other codecs.
    public static func coverAttachment(codec: AVCodecID) -> (name: String, mime: String)? {
        switch codec {
        case AV_CODEC_ID_MJPEG: return ("cover.jpg", "image/jpeg")
        case AV_CODEC_ID_PNG: return ("cover.png", "image/png")
        default: return nil
        }
    }

    /// Whether `input` is cover art `addAttachment(coverArt:)` can write: an attached picture
    /// with bytes, in a codec `coverAttachment(codec:)` names.
    public static func canAttachCover(_ input: UnsafeMutablePointer<AVStream>) -> Bool {
        (input.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 && input.pointee.attached_pic.size > 0
            && input.pointee.attached_pic.data != nil && coverAttachment(codec: input.pointee.codecpar.pointee.codec_id) != nil
    }

    /// Adds the input's cover art (an attached picture: a one-packet video stream) as a
    /// Matroska attachment, where Matroska keeps cover art: the picture's bytes as the file,
    /// named and typed by `coverAttachment(codec:)`, with the input's title. Nothing is written
    /// for it later (an attachment has no packets). `input` must pass `canAttachCover`.
    public func addAttachment(coverArt input: UnsafeMutablePointer<AVStream>) throws -> Int {
        let par = input.pointee.codecpar.pointee
        let picture = input.pointee.attached_pic
        guard Self.canAttachCover(input), let kind = Self.coverAttachment(codec: par.codec_id), let bytes = picture.data else {
            throw MediaError(call: "addAttachment(coverArt:)", code: lc_averror_einval())
        }
        guard let s = avformat_new_stream(context, nil) else { throw MediaError(call: "avformat_new_stream", code: lc_averror_enomem()) }
        let size = Int(picture.size)
        guard let extradata = av_mallocz(size + Int(AV_INPUT_BUFFER_PADDING_SIZE))?.assumingMemoryBound(to: UInt8.self) else {
            throw MediaError(call: "av_mallocz", code: lc_averror_enomem())
        }
        extradata.update(from: bytes, count: size)
        s.pointee.codecpar.pointee.codec_type = AVMEDIA_TYPE_ATTACHMENT
        s.pointee.codecpar.pointee.codec_id = par.codec_id
        s.pointee.codecpar.pointee.extradata = extradata
        s.pointee.codecpar.pointee.extradata_size = Int32(size)
        av_dict_set(&s.pointee.metadata, "filename", kind.name, 0)
        av_dict_set(&s.pointee.metadata, "mimetype", kind.mime, 0)
        if let title = av_dict_get(input.pointee.metadata, "title", nil, 0) ?? av_dict_get(input.pointee.metadata, "comment", nil, 0) {
            av_dict_set(&s.pointee.metadata, "title", title.pointee.value, 0)
        }
        return Int(s.pointee.index)
    }
}
