import CFFmpeg
import Foundation
import Logging
import MediaIO

/// Which streams an output container takes, and with which codec, sample format and encoder
/// options: the one place that decides it, so `-o out.webm`, `.mp3`, `.ogg`, `.opus`, `.wav`
/// get what the container can carry instead of an H.264/AAC pair the muxer then refuses with
/// "avformat_write_header failed … Invalid argument".
///
/// The rules, from FFmpeg's own description of each muxer (`AVOutputFormat`'s default codecs
/// and `avformat_query_codec`), with a few facts FFmpeg does not state:
/// - A stream kind the container has no default codec for is left out (the caller says so
///   once, naming the stream). So is video for formats whose only "video" is cover art
///   (mp3, flac, aiff: PNG attached pictures) and for audio-only file names (`.m4a`, `.mka`).
/// - The requested encoder is kept when the container takes its codec; otherwise the
///   container's own codec is used (WebM: VP9 + Opus, Ogg: Theora + Vorbis, `.opus`: Opus,
///   `.mp3`: MP3, WAV: PCM), and an encoder the user named explicitly that the container cannot
///   carry is an error that says what it takes.
/// - Lossless outputs (PCM, FLAC) keep the input's bit depth: 24-bit in is 24-bit out.
/// - Sample rate and channel count follow the input unless the encoder cannot take them
///   (Opus: 48 kHz, MP3: at most stereo and 48 kHz), then the nearest it can.
struct OutputCodecPolicy {
    let formatName: String
    /// Lowercased extension of the output's file name ("" for stdout and URLs).
    let fileExtension: String
    private let oformat: UnsafePointer<AVOutputFormat>

    init(muxer: Muxer) {
        formatName = muxer.formatName
        oformat = UnsafePointer(muxer.context.pointee.oformat)
        let name = muxer.finalPath ?? (Muxer.isFilePath(muxer.displayName) ? muxer.displayName : "")
        fileExtension = (name as NSString).pathExtension.lowercased()
    }

    /// What happens to one input stream.
    enum Decision<Choice> {
        case encode(Choice)
        /// The container cannot hold the stream: it is left out. The text says why.
        case leaveOut(String)
    }

    struct VideoChoice {
        var codec: String
        /// Set when the requested encoder was replaced by the container's own: for a notice.
        var replaced: String?
    }

    struct AudioChoice: Equatable {
        var codec: String
        var sampleFormat: AVSampleFormat
        /// Meaningful bits per sample when the format holds more (24 in s32); 0 otherwise.
        var bitsPerRawSample: Int
        var sampleRate: Int
        var channels: Int
        /// PCM or FLAC: no bit rate applies.
        var lossless: Bool
        var replaced: String?
    }

    /// The input audio stream as decoded, which decides depth, rate and channels.
    struct AudioInput {
        var codecID: AVCodecID
        var sampleFormat: AVSampleFormat
        var bitsPerRawSample: Int
        var sampleRate: Int
        var channels: Int

        init(codecID: AVCodecID, sampleFormat: AVSampleFormat, bitsPerRawSample: Int, sampleRate: Int, channels: Int) {
            self.codecID = codecID; self.sampleFormat = sampleFormat; self.bitsPerRawSample = bitsPerRawSample
            self.sampleRate = sampleRate; self.channels = channels
        }

        init(decoder ctx: AVCodecContext) {
            self.init(codecID: ctx.codec_id, sampleFormat: ctx.sample_fmt, bitsPerRawSample: Int(ctx.bits_per_raw_sample),
                      sampleRate: Int(ctx.sample_rate), channels: Int(ctx.ch_layout.nb_channels))
        }

        /// Bits per sample worth keeping: 32 for float PCM (written as float where the
        /// container allows), the raw depth for integer formats, 16 for lossy codecs (whose
        /// float output has no depth of its own).
        var depth: Int {
            switch av_get_packed_sample_fmt(sampleFormat) {
            case AV_SAMPLE_FMT_U8, AV_SAMPLE_FMT_S16: return 16
            case AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S64:
                switch bitsPerRawSample {
                case 1...16: return 16
                case 17...24: return 24
                default: return 32
                }
            case AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_DBL:
                return isFloatPCM ? 32 : (bitsPerRawSample > 16 ? 24 : 16)
            default: return 16
            }
        }

        var isFloatPCM: Bool {
            [AV_CODEC_ID_PCM_F32LE, AV_CODEC_ID_PCM_F32BE, AV_CODEC_ID_PCM_F64LE, AV_CODEC_ID_PCM_F64BE].contains(codecID)
        }
    }

    // MARK: what the container holds

    /// Formats that take many codecs without saying which (`avformat_query_codec` does not
    /// know): the requested encoder is used as it is.
    private static let permissive: Set<String> = ["null", "mpegts", "hls", "dash", "segment", "stream_segment", "rtp_mpegts", "tee", "fifo", "nut"]

    /// The Ogg family and other single-purpose muxers that do not answer
    /// `avformat_query_codec` for anything but their default: what they take (oggenc.c).
    private static let accepts: [String: Set<AVCodecID>] = [
        "ogg": [AV_CODEC_ID_THEORA, AV_CODEC_ID_VP8, AV_CODEC_ID_VORBIS, AV_CODEC_ID_OPUS, AV_CODEC_ID_FLAC, AV_CODEC_ID_SPEEX],
        "ogv": [AV_CODEC_ID_THEORA, AV_CODEC_ID_VP8, AV_CODEC_ID_VORBIS, AV_CODEC_ID_OPUS, AV_CODEC_ID_FLAC, AV_CODEC_ID_SPEEX],
        "oga": [AV_CODEC_ID_VORBIS, AV_CODEC_ID_OPUS, AV_CODEC_ID_FLAC, AV_CODEC_ID_SPEEX],
        "opus": [AV_CODEC_ID_OPUS],
        "spx": [AV_CODEC_ID_SPEEX],
    ]

    /// File names that say "audio only" whatever the muxer could also take.
    private static let audioOnlyExtensions: Set<String> = ["m4a", "m4b", "mka", "weba", "oga"]

    var holdsVideo: Bool {
        let id = oformat.pointee.video_codec
        // mp3, flac, aiff name PNG: their only picture is cover art, not a video track.
        return id != AV_CODEC_ID_NONE && id != AV_CODEC_ID_PNG && !Self.audioOnlyExtensions.contains(fileExtension)
    }

    var holdsAudio: Bool { oformat.pointee.audio_codec != AV_CODEC_ID_NONE }

    /// Whether the container takes `id`: the table above for the Ogg family, else FFmpeg's
    /// answer where it has one; where it has none, anything for the permissive formats
    /// (MPEG-TS…) and only the container's own default codecs for the rest.
    func takes(_ id: AVCodecID) -> Bool {
        if let set = Self.accepts[formatName] { return set.contains(id) }
        let q = avformat_query_codec(oformat, id, FF_COMPLIANCE_NORMAL)
        if q > 0 { return true }
        if q == 0 { return false }
        return Self.permissive.contains(formatName) || id == oformat.pointee.video_codec || id == oformat.pointee.audio_codec
    }

    /// The encoder labelcast uses for a codec: the external libraries Debian's FFmpeg links
    /// (libvpx, libopus, libvorbis, libmp3lame, libtheora) rather than FFmpeg's experimental
    /// native Vorbis/Opus encoders, which need `-strict -2`.
    static func encoderName(for id: AVCodecID) -> String? {
        let preferred: [AVCodecID: [String]] = [
            AV_CODEC_ID_H264: ["libx264"], AV_CODEC_ID_HEVC: ["libx265"], AV_CODEC_ID_VP9: ["libvpx-vp9"],
            AV_CODEC_ID_VP8: ["libvpx"], AV_CODEC_ID_AV1: ["libsvtav1", "libaom-av1"], AV_CODEC_ID_THEORA: ["libtheora"],
            AV_CODEC_ID_AAC: ["aac"], AV_CODEC_ID_OPUS: ["libopus"], AV_CODEC_ID_VORBIS: ["libvorbis"],
            AV_CODEC_ID_MP3: ["libmp3lame"], AV_CODEC_ID_FLAC: ["flac"],
        ]
        if let names = preferred[id] { return names.first(where: Encoder.exists) }
        guard let codec = avcodec_find_encoder(id), codec.pointee.capabilities & AV_CODEC_CAP_EXPERIMENTAL == 0 else { return nil }
        return String(cString: codec.pointee.name)
    }

    private static func codecID(ofEncoder name: String) -> AVCodecID? {
        avcodec_find_encoder_by_name(name).map { $0.pointee.id }
    }

    private static func codecLabel(_ id: AVCodecID) -> String {
        String(cString: avcodec_get_name(id))
    }

    /// What the container takes, in words for an error: its own codecs first.
    private func alternatives(video: Bool) -> String {
        let own = video ? oformat.pointee.video_codec : oformat.pointee.audio_codec
        let candidates: [AVCodecID] = video
            ? [own, AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_VP9, AV_CODEC_ID_VP8, AV_CODEC_ID_AV1, AV_CODEC_ID_THEORA]
            : [own, AV_CODEC_ID_AAC, AV_CODEC_ID_OPUS, AV_CODEC_ID_VORBIS, AV_CODEC_ID_MP3, AV_CODEC_ID_FLAC]
        var names: [String] = []
        for id in candidates where takes(id) {
            if let n = Self.encoderName(for: id), !names.contains(n) { names.append(n) }
        }
        return names.isEmpty ? "see `ffmpeg -h muxer=\(formatName)`" : names.joined(separator: ", ")
    }

    // MARK: video

    /// The encoder for the video stream. `requested` is `--video-codec`; `explicit` says
    /// whether the user named it (the default libx264 is replaced silently-but-noted where the
    /// container cannot carry H.264; an encoder the user chose is never swapped).
    func video(requested: String, explicit: Bool) throws -> Decision<VideoChoice> {
        guard holdsVideo else { return .leaveOut("the \(formatName) output holds no video") }
        guard let id = Self.codecID(ofEncoder: requested) else {
            // Unknown encoder: the encoder itself reports it, naming it.
            return .encode(VideoChoice(codec: requested))
        }
        if takes(id) { return .encode(VideoChoice(codec: requested)) }
        if explicit {
            throw LabelcastError("the \(formatName) output cannot carry \(Self.codecLabel(id)) (--video-codec \(requested)): use \(alternatives(video: true)), or leave --video-codec out")
        }
        let own = oformat.pointee.video_codec
        guard let name = Self.encoderName(for: own) else {
            return .leaveOut("the \(formatName) output takes only \(Self.codecLabel(own)) video, which this FFmpeg build cannot encode")
        }
        return .encode(VideoChoice(codec: name, replaced: "the \(formatName) output cannot carry \(Self.codecLabel(id)): video is encoded with \(name) (\(Self.codecLabel(own)))"))
    }

    /// Encoder options for `codec` beyond labelcast's common ones: speed settings for live
    /// use, and a quality target when neither `--crf` nor a bit rate sets one.
    static func videoOptions(codec: String, crf: Double?, hasBitRate: Bool) -> [String: String] {
        var o: [String: String] = [:]
        switch codec {
        case "libvpx-vp9", "libvpx":
            // Realtime deadline at the fastest speed that keeps VP9's quality usable; frames
            // leave the encoder as they come (no look-ahead) so live latency stays low.
            o["deadline"] = "realtime"
            o["cpu-used"] = codec == "libvpx-vp9" ? "8" : "16"
            o["lag-in-frames"] = "0"
            if codec == "libvpx-vp9" { o["row-mt"] = "1" }
            if crf == nil && !hasBitRate { o["crf"] = "32"; o["b"] = "0" }
            if crf != nil { o["b"] = "0" }  // constant quality, not constrained
        case "libaom-av1":
            o["usage"] = "realtime"; o["cpu-used"] = "8"
            if crf == nil && !hasBitRate { o["crf"] = "35" }
        case "libsvtav1":
            o["preset"] = "12"
            if crf == nil && !hasBitRate { o["crf"] = "35" }
        case "libtheora":
            // Theora has no CRF: without a bit rate it is given quality 7 of 10 (ffmpeg's -q:v 7).
            if !hasBitRate { o["flags"] = "+qscale"; o["global_quality"] = String(7 * 118) }
        default: break
        }
        return o
    }

    // MARK: audio

    /// The encoder, sample format, rate and channels for the audio stream. `requested` is
    /// `--audio-codec` (nil: the container's choice).
    func audio(requested: String?, input: AudioInput) throws -> Decision<AudioChoice> {
        guard holdsAudio else { return .leaveOut("the \(formatName) output holds no audio") }
        var codec: String
        var replaced: String? = nil
        if let requested {
            codec = requested
            if let id = Self.codecID(ofEncoder: requested), !takes(id) {
                throw LabelcastError("the \(formatName) output cannot carry \(Self.codecLabel(id)) (--audio-codec \(requested)): use \(alternatives(video: false)), or leave --audio-codec out")
            }
        } else {
            let own = oformat.pointee.audio_codec
            let ownEncoder = Self.encoderName(for: own)
            let ownIsLossless = ownEncoder.map { $0.hasPrefix("pcm_") || $0 == "flac" } ?? false
            if !ownIsLossless, takes(AV_CODEC_ID_AAC) {
                // MP4, MOV, Matroska, MPEG-TS, FLV…: AAC, what players expect there.
                codec = "aac"
            } else if let ownEncoder {
                codec = ownEncoder
            } else {
                return .leaveOut("the \(formatName) output takes only \(Self.codecLabel(own)) audio, which this FFmpeg build cannot encode")
            }
            if let pcm = pcmCodec(family: codec, input: input) { codec = pcm }
        }
        guard let encoder = avcodec_find_encoder_by_name(codec) else {
            // Unknown encoder: the encoder reports it, naming it.
            return .encode(AudioChoice(codec: codec, sampleFormat: AV_SAMPLE_FMT_FLTP, bitsPerRawSample: 0, sampleRate: input.sampleRate,
                                       channels: input.channels, lossless: false, replaced: replaced))
        }
        let formats = Encoder.supportedSampleFormats(codecName: codec)
        var sampleFormat: AVSampleFormat
        var bits = 0
        let lossless = codec.hasPrefix("pcm_") || codec == "flac" || codec == "alac" || codec == "wavpack"
        if lossless {
            (sampleFormat, bits) = Self.deepest(formats, depth: input.depth)
            if codec == "flac", bits == 0, av_get_packed_sample_fmt(sampleFormat) == AV_SAMPLE_FMT_S32 { bits = 24 }
        } else {
            let order = [AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_S32P, AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S16P, AV_SAMPLE_FMT_S16]
            sampleFormat = order.first(where: formats.contains) ?? formats.first ?? AV_SAMPLE_FMT_FLTP
        }
        let rate = Self.rate(for: encoder, input: input.sampleRate)
        let channels = Self.channels(for: encoder, input: input.channels)
        if rate != input.sampleRate || channels != input.channels {
            replaced = "\(codec) takes \(rate) Hz, \(channels) ch: the audio is converted from \(input.sampleRate) Hz, \(input.channels) ch"
        }
        return .encode(AudioChoice(codec: codec, sampleFormat: sampleFormat, bitsPerRawSample: bits, sampleRate: rate,
                                   channels: channels, lossless: lossless, replaced: replaced))
    }

    /// A PCM encoder of the same byte order as the container's own `family` that keeps the
    /// input's depth: 16, 24 or 32 integer bits, or 32-bit float for float PCM input (where the
    /// container takes it). Nil when `family` is not PCM.
    func pcmCodec(family: String, input: AudioInput) -> String? {
        guard family.hasPrefix("pcm_") else { return nil }
        let order = family.hasSuffix("be") ? "be" : "le"
        var names: [String]
        switch input.depth {
        case ...16: names = ["pcm_s16\(order)"]
        case 17...24: names = ["pcm_s24\(order)"]
        default: names = ["pcm_s32\(order)"]
        }
        if input.isFloatPCM { names.insert("pcm_f32\(order)", at: 0) }
        return names.first { name in Self.codecID(ofEncoder: name).map(takes) ?? false } ?? family
    }

    /// The sample format of a lossless encoder that keeps `depth` bits, and the raw depth to
    /// declare: FLAC's s32 with 24 meaningful bits, PCM s24 from s32 input.
    static func deepest(_ formats: [AVSampleFormat], depth: Int) -> (AVSampleFormat, Int) {
        let wide = formats.first { [AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S32P].contains($0) }
        let float = formats.first { [AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_FLTP].contains($0) }
        let narrow = formats.first { [AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P].contains($0) }
        if depth > 16, let wide { return (wide, depth >= 32 ? 0 : 24) }  // FLAC (FFmpeg 5.1) writes at most 24 of them
        if depth > 16, let float { return (float, 0) }
        if let narrow { return (narrow, 0) }
        return (formats.first ?? AV_SAMPLE_FMT_S16, 0)
    }

    /// The input's rate when the encoder takes it; else the lowest supported rate above it,
    /// or the highest below (Opus: 44.1 kHz → 48 kHz).
    static func rate(for codec: UnsafePointer<AVCodec>, input: Int) -> Int {
        guard var p = codec.pointee.supported_samplerates else { return input }
        var rates: [Int] = []
        while p.pointee != 0 { rates.append(Int(p.pointee)); p += 1 }
        if rates.isEmpty || rates.contains(input) { return input }
        return rates.filter { $0 > input }.min() ?? rates.max()!
    }

    /// The input's channel count when the encoder has a layout of that count; else the
    /// largest it has below (MP3: 5.1 → stereo).
    static func channels(for codec: UnsafePointer<AVCodec>, input: Int) -> Int {
        guard var p = codec.pointee.ch_layouts else { return input }
        var counts: Set<Int> = []
        while p.pointee.nb_channels != 0 { counts.insert(Int(p.pointee.nb_channels)); p += 1 }
        if counts.isEmpty || counts.contains(input) { return input }
        return counts.filter { $0 < input }.max() ?? counts.min()!
    }

    // MARK: for the lane builders

    /// Before any lane is built: an encoder the user named that the container cannot carry is
    /// the run's one error line, ahead of any notice about the other stream.
    func checkChosenCodecs(video: VideoEncoding?, audio: AudioEncoding?) throws {
        if let video, holdsVideo { _ = try self.video(requested: video.codec, explicit: video.codec != VideoEncoding().codec) }
        if let requested = audio?.codec, holdsAudio, let id = Self.codecID(ofEncoder: requested), !takes(id) {
            throw LabelcastError("the \(formatName) output cannot carry \(Self.codecLabel(id)) (--audio-codec \(requested)): use \(alternatives(video: false)), or leave --audio-codec out")
        }
    }

    /// The video encoder's name for `job`'s settings (`--video-codec`, default libx264),
    /// noticing a replacement. Only called when `holdsVideo`.
    func videoEncoder(for video: VideoEncoding, logger: Logger) throws -> String {
        switch try self.video(requested: video.codec, explicit: video.codec != VideoEncoding().codec) {
        case .encode(let c):
            if let r = c.replaced { logger.notice("\(r)") }
            return c.codec
        case .leaveOut(let why):
            throw LabelcastError(why)
        }
    }

    /// The audio encoder settings for `audio` (`--audio-codec`, `--audio-bitrate`) and the
    /// decoded input, noticing a conversion. Only called when `holdsAudio`.
    func audioEncoder(for audio: AudioEncoding, input: AudioInput, logger: Logger) throws -> AudioEncoderSettings {
        switch try self.audio(requested: audio.codec, input: input) {
        case .encode(let c):
            if let r = c.replaced { logger.notice("\(r)") }
            var s = AudioEncoderSettings(sampleRate: c.sampleRate, channels: c.channels)
            s.codecName = c.codec
            s.sampleFormat = c.sampleFormat
            s.bitsPerRawSample = c.bitsPerRawSample
            s.bitRate = c.lossless ? 0 : audio.bitRate
            return s
        case .leaveOut(let why):
            throw LabelcastError(why)
        }
    }

    // MARK: muxer options

    /// MP4/MOV `movflags`: a file gets its index in front (faststart); a pipe or a network
    /// output cannot be seeked back into, so it gets fragmented MP4 with an empty `moov`
    /// written first (what `-o - -f mp4` needs).
    static func movflags(seekable: Bool) -> String {
        seekable ? "+faststart+use_metadata_tags" : "+frag_keyframe+empty_moov+default_base_moof+use_metadata_tags"
    }
}
