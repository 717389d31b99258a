import CFFmpeg
import Foundation
import MediaIO

/// Which input stream becomes which lane, and what happens to it: every video stream and every
/// audio track is processed (labeled and encoded); subtitles, data (SCTE-35, KLV), attachments
/// and cover art are copied; what the output format cannot take is left out, each with one
/// notice naming the stream. `--map` chooses streams with FFmpeg's own stream specifiers.
///
/// The rule labelcast keeps: what it does not need to change, it keeps. A stream is left out
/// only when the output container has no place for it, never silently.
struct StreamPlan {
    enum Treatment: Equatable {
        case process, copy
        /// Cover art (an attached picture) into Matroska: written as the attachment Matroska
        /// keeps covers in (`Muxer.addAttachment(coverArt:)`), not as a one-frame video.
        case coverArt
        /// Text subtitles the output carries only in its own text codec (SubRip into MP4's mov_text).
        case convert(AVCodecID)
    }
    struct Entry {
        let input: Int
        let lane: Lane
        let treatment: Treatment
    }
    var entries: [Entry] = []
    /// One line per stream left out, naming it and why.
    var notices: [String] = []

    var processed: [Entry] { entries.filter { $0.treatment == .process } }
    var copied: [Entry] { entries.filter { $0.treatment != .process } }
    func lane(ofInput index: Int) -> Lane? { entries.first { $0.input == index }?.lane }

    /// `maps`: `--map` values (`0:v:0`, `0:a`, `-0:s`, `0:m:language:eng`, `0:3`), in order;
    /// empty means every stream. `labelcastWritesID3`: the output gets labelcast's own timed
    /// metadata stream, which replaces an input's (it would carry the upstream's AIGC value).
    static func make(demuxer: Demuxer, muxer: Muxer, maps: [String]) throws -> StreamPlan {
        let outputFormat = muxer.context.pointee.oformat!, formatName = muxer.formatName
        let labelcastWritesID3 = muxer.needsInBandMetadata
        let policy = OutputCodecPolicy(muxer: muxer)
        let selected = try select(demuxer: demuxer, maps: maps)
        var plan = StreamPlan()
        var tracks: [Lane.Kind: Int] = [:]
        let canHoldVideo = policy.holdsVideo
        for index in selected {
            let st = demuxer.stream(index)
            let par = st.pointee.codecpar.pointee
            let name = Self.describe(st, index: index)
            let kind: Lane.Kind
            switch par.codec_type {
            case AVMEDIA_TYPE_VIDEO: kind = (st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 ? .attachment : .video
            case AVMEDIA_TYPE_AUDIO: kind = .audio
            case AVMEDIA_TYPE_SUBTITLE: kind = .subtitle
            case AVMEDIA_TYPE_DATA: kind = .data
            case AVMEDIA_TYPE_ATTACHMENT: kind = .attachment
            default:
                plan.notices.append("\(name) is of unknown type: left out")
                continue
            }
            var treatment = Treatment.copy
            switch kind {
            case .video:
                guard par.width > 0, par.height > 0 else {
                    plan.notices.append("\(name) has no picture size (empty or damaged): left out"); continue
                }
                guard canHoldVideo else {
                    plan.notices.append("the \(formatName) output holds no video: \(name) is left out"); continue
                }
                treatment = .process
            case .audio:
                guard par.sample_rate > 0, par.ch_layout.nb_channels > 0 else {
                    plan.notices.append("\(name) has no sample rate or channels (empty or damaged): left out"); continue
                }
                guard policy.holdsAudio else {
                    plan.notices.append("the \(formatName) output holds no audio: \(name) is left out"); continue
                }
                treatment = .process
            case .subtitle, .data, .attachment:
                if par.codec_tag == Self.fourCC("tmcd"), let tc = av_dict_get(st.pointee.metadata, "timecode", nil, 0),
                   selected.contains(where: { i in
                       let v = demuxer.stream(i)
                       return v.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
                           && av_dict_get(v.pointee.metadata, "timecode", nil, 0).map { String(cString: $0.pointee.value) } == String(cString: tc.pointee.value)
                   }) {
                    // A MOV/MP4 timecode track: the video stream's `timecode` tag carries it, and
                    // the MP4/MOV writers make the track again from it (Matroska keeps the tag).
                    continue
                }
                if par.codec_type == AVMEDIA_TYPE_DATA, par.codec_tag == Self.fourCC("text"), demuxer.context.pointee.nb_chapters > 0,
                   ["mov", "mp4"].contains(where: { demuxer.formatName.contains($0) }) {
                    // MP4/MOV keep chapters in a text track: they are carried as the output's chapters.
                    continue
                }
                if par.codec_id == AV_CODEC_ID_TIMED_ID3, labelcastWritesID3 {
                    plan.notices.append("\(name): the input's timed metadata is replaced by labelcast's own (it carries the AIGC field): left out")
                    continue
                }
                if formatName == "matroska", Muxer.canAttachCover(st) {
                    treatment = .coverArt
                } else if let reason = Self.cannotCopy(st, outputFormat: outputFormat, formatName: formatName, carriesSCTE35: muxer.carriesSCTE35) {
                    // The muxer's own text codec; MP4/MOV name none, and carry mov_text (3GPP timed text).
                    var target = outputFormat.pointee.subtitle_codec
                    if target == AV_CODEC_ID_NONE, ["mp4", "mov", "ipod", "3gp", "3g2"].contains(formatName) { target = AV_CODEC_ID_MOV_TEXT }
                    if kind == .subtitle, SubtitleTranscoder.isText(par.codec_id), target != AV_CODEC_ID_NONE, SubtitleTranscoder.isText(target),
                       avformat_query_codec(outputFormat, target, FF_COMPLIANCE_NORMAL) != 0 {
                        treatment = .convert(target)
                    } else {
                        plan.notices.append("\(name): \(reason): left out")
                        continue
                    }
                }
            }
            let n = tracks[kind, default: 0]
            if kind == .video || kind == .audio, let limit = Self.streamLimit[formatName], n >= (kind == .video ? limit.video : limit.audio) {
                let count = kind == .video ? limit.video : limit.audio
                plan.notices.append("the \(formatName) output holds \(count == 1 ? "one" : "\(count)") \(kind.rawValue) stream\(count == 1 ? "" : "s"): \(name) is left out")
                continue
            }
            tracks[kind] = n + 1
            plan.entries.append(Entry(input: index, lane: Lane(kind, track: n), treatment: treatment))
        }
        return plan
    }

    /// The input streams `--map` selects, in input order. Positive specifiers add streams,
    /// `-` ones take them away again; no positive one means every stream.
    static func select(demuxer: Demuxer, maps: [String]) throws -> [Int] {
        let count = demuxer.streams.count
        guard !maps.isEmpty else { return Array(0..<count) }
        var chosen: [Int] = []
        let positives = maps.filter { !$0.hasPrefix("-") }
        if positives.isEmpty { chosen = Array(0..<count) }
        for raw in maps {
            let negative = raw.hasPrefix("-")
            let spec = try specifier(negative ? String(raw.dropFirst()) : raw)
            let matching = try (0..<count).filter { i in
                let r = avformat_match_stream_specifier(demuxer.context, demuxer.stream(i), spec)
                if r < 0 { throw LabelcastError("--map \(raw): not a stream specifier labelcast understands (e.g. 0:v:0, 0:a, 0:s:1, 0:m:language:eng, -0:d)") }
                return r > 0
            }
            if matching.isEmpty && !negative {
                throw LabelcastError("--map \(raw) matches no stream of the input: `ffprobe -hide_banner INPUT` lists them")
            }
            if negative { chosen.removeAll { matching.contains($0) } } else {
                for m in matching where !chosen.contains(m) { chosen.append(m) }
            }
        }
        return chosen.sorted()
    }

    /// `0:v:0` → `v:0`; `0` → `` (all streams). labelcast reads one input, numbered 0.
    static func specifier(_ raw: String) throws -> String {
        let parts = raw.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let file = parts.first, Int(file) != nil else {
            throw LabelcastError("--map \(raw): start with the input number, 0 (e.g. 0:v:0, 0:a, 0:s)")
        }
        guard file == "0" else { throw LabelcastError("--map \(raw): labelcast reads one input, numbered 0") }
        return parts.count > 1 ? String(parts[1]) : ""
    }

    /// Containers that hold a fixed number of picture and sound streams (the muxer refuses more
    /// at the header, with "Invalid argument").
    static let streamLimit: [String: (video: Int, audio: Int)] = [
        "flv": (1, 1), "mp3": (0, 1), "wav": (0, 1), "w64": (0, 1), "flac": (0, 1), "adts": (0, 1), "aiff": (0, 1),
        "ac3": (0, 1), "eac3": (0, 1), "au": (0, 1), "opus": (0, 1), "oga": (0, 1), "h264": (1, 0), "hevc": (1, 0),
    ]

    /// Why the output cannot carry a copy of this stream, or nil when it can.
    static func cannotCopy(_ st: UnsafeMutablePointer<AVStream>, outputFormat: UnsafePointer<AVOutputFormat>, formatName: String,
                           carriesSCTE35: Bool = false) -> String? {
        let par = st.pointee.codecpar.pointee
        let codec = avcodec_get_name(par.codec_id).map { String(cString: $0) } ?? "unknown"
        if par.codec_id == AV_CODEC_ID_SCTE_35 {
            // MPEG-TS (and HLS's TS segments in a folder) carry it as SCTE 35 defines (the
            // muxer's SCTE35TSFilter); no other container FFmpeg 5.1 writes has a place for it.
            return carriesSCTE35 ? nil : "the \(formatName) output has no place for SCTE-35 splice information (MPEG-TS outputs and HLS TS segments written to a folder carry it)"
        }
        if par.codec_type == AVMEDIA_TYPE_ATTACHMENT {
            // Matroska writes an attachment from its bytes, file name and MIME type, whatever the codec.
            guard formatName == "matroska" else { return "the \(formatName) output has no place for attachments (Matroska has)" }
            return av_dict_get(st.pointee.metadata, "mimetype", nil, 0) == nil ? "an attachment without a MIME type" : nil
        }
        if (st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 {
            // MP4/MOV keep cover art in the iTunes item list, which FFmpeg 5.1 does not write next
            // to custom keys (the AIGC field needs one); Matroska takes JPEG/PNG covers as
            // attachments (`Treatment.coverArt`, decided before this), other pictures not.
            return ["mp3", "flac"].contains(formatName) ? nil
                : "cover art has no place in the \(formatName) output as FFmpeg 5.1 writes it (MP3 and FLAC keep it, Matroska keeps JPEG and PNG covers as attachments)"
        }
        if par.codec_id == AV_CODEC_ID_NONE {
            if par.codec_tag == Self.fourCC("tmcd") {
                return "a timecode track (the video stream's timecode tag carries it where the output has a place)"
            }
            return "its codec is unknown to FFmpeg, so no output can declare it"
        }
        // What the muxer declares; formats without a codec table answer "unknown" (< 0).
        let r = avformat_query_codec(outputFormat, par.codec_id, FF_COMPLIANCE_NORMAL)
        if r > 0 { return nil }
        if r == 0 { return "the \(formatName) output cannot carry \(codec)" }
        let known: [String: Set<AVCodecID>] = [
            "mpegts": [AV_CODEC_ID_TIMED_ID3, AV_CODEC_ID_SMPTE_KLV, AV_CODEC_ID_DVB_SUBTITLE,
                       AV_CODEC_ID_DVB_TELETEXT, AV_CODEC_ID_HDMV_PGS_SUBTITLE, AV_CODEC_ID_ARIB_CAPTION],
        ]
        if let ok = known[formatName] { return ok.contains(par.codec_id) ? nil : "the \(formatName) output cannot carry \(codec)" }
        return "the \(formatName) output does not say it can carry \(codec)"
    }

    static func fourCC(_ s: String) -> UInt32 {
        let b = Array(s.utf8)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    /// "subtitle stream #2 (subrip, eng)".
    static func describe(_ st: UnsafeMutablePointer<AVStream>, index: Int) -> String {
        let par = st.pointee.codecpar.pointee
        let type = av_get_media_type_string(par.codec_type).map { String(cString: $0) } ?? "unknown"
        let codec = avcodec_get_name(par.codec_id).map { String(cString: $0) } ?? "unknown"
        var extra = [codec]
        if let lang = av_dict_get(st.pointee.metadata, "language", nil, 0)?.pointee.value, String(cString: lang) != "und" { extra.append(String(cString: lang)) }
        if (st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 { extra.append("cover art") }
        return "\(type) stream #\(index) (\(extra.joined(separator: ", ")))"
    }

    /// Stream tags the output stream keeps: all of the input's except the statistics a
    /// Matroska writer adds (they describe the input's encoding, not the output's) and the
    /// encoder name (the output's own is written).
    static func keptStreamTags(_ tags: [String: String], processed: Bool) -> [String: String] {
        tags.filter { key, _ in
            let k = key.uppercased()
            if k.hasPrefix("_STATISTICS_") || ["BPS", "NUMBER_OF_FRAMES", "NUMBER_OF_BYTES", "DURATION"].contains(k) || k.hasPrefix("BPS-")
                || k.hasPrefix("NUMBER_OF_FRAMES-") || k.hasPrefix("NUMBER_OF_BYTES-") || k.hasPrefix("DURATION-") { return false }
            if processed && (k == "ENCODER" || k == "VENDOR_ID") { return false }
            return true
        }
    }

    /// Container tags the output keeps: the input's, except what the muxer writes itself
    /// (brands, encoder) and the AIGC field, which `ProvenanceWriter` owns.
    static func keptFormatTags(_ tags: [String: String]) -> [String: String] {
        tags.filter { key, _ in
            let k = key.lowercased()
            return !["major_brand", "minor_version", "compatible_brands", "encoder", "duration"].contains(k)
                && k != AIGCMetadata.tagName.lowercased() && !k.hasPrefix("aigc")
        }
    }
}
