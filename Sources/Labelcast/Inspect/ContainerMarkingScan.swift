import CFFmpeg
import Foundation
import MediaIO

/// The container side of `labelcast inspect`: one demux pass, no decoding, that collects the
/// GB 45438 AIGC field from every place labelcast (or another writer) puts it — container
/// tags (MP4/MOV `moov/udta/meta`, Matroska SimpleTag, FLV `onMetaData`, MP3 ID3v2 `TXXX`,
/// FLAC/Ogg Vorbis comments, WAV `LIST/INFO`), stream tags, FLV `onMetaData` updates
/// mid-stream, MPEG-TS timed ID3 packets (`TXXX` `AIGC`), a top-level RIFF `AIGC` chunk —
/// and the chapters. Runs on the caller's thread.
final class ContainerMarkingScan {
    /// One AIGC field found: where, its value, and the media time from which it holds (nil:
    /// the whole input, a container tag written in the header or trailer).
    struct Field {
        var place: String
        var key: String
        var value: String
        /// Times (seconds of media time) at which the field was seen: timed ID3 packets, or
        /// the one onMetaData update.
        var times: [Double]
    }

    struct Chapter {
        var start: Double
        var end: Double
        var title: String
    }

    struct Result {
        var container: String
        var duration: Double
        var fields: [Field]
        var chapters: [Chapter]
        var hasAudio: Bool
        var hasVideo: Bool
    }

    private let url: String
    private let display: String
    private let interrupter: IOInterrupter
    private let live: Bool

    init(url: String, display: String, interrupter: IOInterrupter, live: Bool) {
        self.url = url
        self.display = display
        self.interrupter = interrupter
        self.live = live
    }

    /// Reads the input to its end (or until `interrupter` is cancelled: a live window).
    func run() throws -> Result {
        let options = live ? ["probesize": "500000", "analyzeduration": "1000000"] : [:]
        let demuxer: Demuxer
        do {
            demuxer = try Demuxer(url: url, options: options, displayName: display, interrupter: interrupter)
        } catch let e as MediaError {
            throw LabelcastError(PipelineRunner.explainOpen(e, url: display))
        }
        let format = demuxer.formatName
        let origin = demuxer.streams.filter { $0.kind == .video || $0.kind == .audio }
            .compactMap { MediaTime.seconds($0.startTime, $0.timeBase) }.min() ?? demuxer.startSeconds ?? 0
        var fields: [Field] = []
        let place = Self.tagPlace(format)
        if let f = AIGCMetadata.find(in: demuxer.metadata) {
            fields.append(Field(place: place, key: f.key, value: f.value, times: []))
        }
        for s in demuxer.streams {
            if let f = AIGCMetadata.find(in: s.metadata) {
                fields.append(Field(place: "\(Self.streamPlace(format)) (stream \(s.index), \(s.codecName))", key: f.key, value: f.value, times: []))
            }
        }
        let hadTagAtOpen = !fields.isEmpty
        var id3: [String: Field] = [:]
        var newest = 0.0
        readLoop: while true {
            let result: Demuxer.ReadResult
            do { result = try demuxer.read() } catch let e as MediaError {
                if live, e.code == lc_averror_etimedout() { throw LabelcastError("input '\(display)': \(e.message)") }
                // A damaged tail of a file: what was read so far is the answer.
                break readLoop
            }
            guard case .packet(let packet) = result else { break }
            let index = packet.streamIndex
            guard index < demuxer.streams.count else { continue }
            let info = demuxer.streams[index]
            let ts = packet.pts != MediaTime.noPTS ? packet.pts : packet.dts
            let t = MediaTime.seconds(ts, info.timeBase).map { $0 - origin }
            if let t, info.kind == .video || info.kind == .audio {
                let d = MediaTime.seconds(packet.duration, info.timeBase) ?? 0
                newest = max(newest, t + max(0, d))
            }
            if demuxer.context.pointee.event_flags & Int32(AVFMT_EVENT_FLAG_METADATA_UPDATED) != 0 {
                demuxer.context.pointee.event_flags &= ~Int32(AVFMT_EVENT_FLAG_METADATA_UPDATED)
                if !hadTagAtOpen, !fields.contains(where: { $0.times.count == 1 && $0.place == place + " update" }),
                   let f = AIGCMetadata.find(in: demuxer.metadata) {
                    fields.append(Field(place: place + " update", key: f.key, value: f.value, times: [max(0, t ?? newest)]))
                }
            }
            if demuxer.stream(index).pointee.codecpar.pointee.codec_id == AV_CODEC_ID_TIMED_ID3 {
                let bytes = packet.data
                if let value = TimedID3.textValue(in: bytes, description: AIGCMetadata.tagName) {
                    id3[value, default: Field(place: "MPEG-TS timed ID3 (TXXX AIGC, stream \(index))", key: AIGCMetadata.tagName, value: value, times: [])]
                        .times.append(max(0, t ?? newest))
                }
            }
        }
        fields += id3.values.sorted { ($0.times.first ?? 0) < ($1.times.first ?? 0) }
        if format == "wav", !live, let riff = Self.riffAIGCChunk(path: url) {
            fields.append(Field(place: "RIFF chunk AIGC", key: "AIGC", value: riff, times: []))
        }
        var chapters: [Chapter] = []
        for i in 0..<Int(demuxer.context.pointee.nb_chapters) {
            guard let c = demuxer.context.pointee.chapters[i] else { continue }
            let tb = Rational(c.pointee.time_base)
            let title = av_dict_get(c.pointee.metadata, "title", nil, 0).map { String(cString: $0.pointee.value) } ?? ""
            chapters.append(Chapter(start: max(0, Double(c.pointee.start) * tb.double - origin),
                                    end: max(0, Double(c.pointee.end) * tb.double - origin), title: title))
        }
        let duration = live ? newest : max(newest, demuxer.durationSeconds ?? 0)
        return Result(container: format, duration: duration, fields: fields, chapters: chapters,
                      hasAudio: demuxer.streams.contains { $0.kind == .audio }, hasVideo: demuxer.streams.contains { $0.kind == .video })
    }

    /// Where libavformat's container tags come from, by demuxer name.
    static func tagPlace(_ format: String) -> String {
        switch format {
        case let f where f.hasPrefix("mov,mp4"): "MP4/MOV tag (moov/udta/meta)"
        case "matroska,webm": "Matroska SimpleTag"
        case "flv", "live_flv": "FLV onMetaData"
        case "mp3": "MP3 ID3v2 TXXX"
        case "flac": "FLAC Vorbis comment"
        case "ogg": "Ogg Vorbis comment"
        case "wav": "WAV LIST/INFO"
        case "mpegts": "MPEG-TS service tags"
        default: "\(format) container tag"
        }
    }

    static func streamPlace(_ format: String) -> String {
        format == "ogg" ? "Ogg Vorbis comment" : "\(format) stream tag"
    }

    /// A top-level RIFF chunk named `AIGC` in a WAV file (TC260's practice guide), which
    /// libavformat does not read; LIST/INFO `AIGC` comes through the container tags.
    static func riffAIGCChunk(path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return riffAIGCChunk { offset, count in
            guard (try? handle.seek(toOffset: offset)) != nil else { return nil }
            return try? handle.read(upToCount: count)
        }
    }

    /// The same on any byte source: `read(offset, count)` gives up to `count` bytes from
    /// `offset` (fewer at the end, nil or empty past it). Bounded: a hostile file with
    /// millions of tiny chunks is not read forever, and a chunk body over 1 MiB is refused.
    static func riffAIGCChunk(read: (UInt64, Int) -> Data?) -> String? {
        guard let head = read(0, 12), head.count == 12,
              head.prefix(4) == Data("RIFF".utf8), head.suffix(4) == Data("WAVE".utf8) else { return nil }
        var offset: UInt64 = 12
        for _ in 0..<4096 {
            guard let h = read(offset, 8), h.count == 8 else { return nil }
            let size = UInt64(h[h.startIndex + 4]) | UInt64(h[h.startIndex + 5]) << 8 | UInt64(h[h.startIndex + 6]) << 16 | UInt64(h[h.startIndex + 7]) << 24
            if h.prefix(4) == Data("AIGC".utf8) {
                guard size <= 1 << 20, let body = read(offset + 8, Int(size)) else { return nil }
                return String(decoding: body, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\0"))
            }
            offset += 8 + size + (size & 1)
        }
        return nil
    }
}
