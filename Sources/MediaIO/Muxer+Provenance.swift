import CFFmpeg
import Foundation

/// What a muxer can carry besides audio and video: chapters and timed metadata (a data stream
/// of ID3 tags). Same threading rule as `Muxer`: one serial queue.
extension Muxer {
    /// Whether the container writes chapters (MP4/MOV and Matroska; not MPEG-TS, FLV or WAV).
    public var supportsChapters: Bool {
        ["mp4", "mov", "ipod", "matroska", "webm"].contains(formatName)
    }

    /// Whether chapters tile the whole timeline (MP4/MOV store them as a text track whose
    /// samples follow each other), so a gap between chapters needs a chapter of its own.
    public var chaptersAreContiguous: Bool { ["mp4", "mov", "ipod"].contains(formatName) }

    /// Whether the container has no tags of its own that players read, so metadata must travel
    /// in-band (MPEG-TS).
    public var needsInBandMetadata: Bool { formatName == "mpegts" }

    /// The number of chapters added so far.
    public var chapterCount: Int { Int(context.pointee.nb_chapters) }

    /// Adds a chapter `[start, end)` in `timeBase` titled `title`.
    ///
    /// movenc and matroskaenc both read `AVFormatContext.chapters` again in `av_write_trailer`
    /// when none existed at the header, so chapters found while streaming are added here, all
    /// at once, just before `finish()`. Adding some before the header and more after does not
    /// work (Matroska writes them once).
    public func addChapter(start: Int64, end: Int64, timeBase: Rational, title: String) throws {
        guard let raw = av_mallocz(MemoryLayout<AVChapter>.size) else {
            throw MediaError(call: "av_mallocz", code: lc_averror_enomem())
        }
        let chapter = raw.assumingMemoryBound(to: AVChapter.self)
        chapter.pointee.id = Int64(context.pointee.nb_chapters + 1)
        chapter.pointee.time_base = timeBase.av
        chapter.pointee.start = start
        chapter.pointee.end = end
        av_dict_set(&chapter.pointee.metadata, "title", title, 0)
        // avformat_free_context frees each chapter and its metadata.
        withUnsafeMutablePointer(to: &context.pointee.nb_chapters) { count in
            count.withMemoryRebound(to: Int32.self, capacity: 1) { n in
                av_dynarray_add(&context.pointee.chapters, n, raw)
            }
        }
        guard context.pointee.chapters != nil else {
            throw MediaError(call: "av_dynarray_add", code: lc_averror_enomem())
        }
    }

    /// Adds a timed-metadata data stream (ID3 tags in PES packets, as HLS and broadcast
    /// players read them) in a 1/90000 time base; returns its index. MPEG-TS only.
    public func addTimedID3Stream() throws -> Int {
        guard let s = avformat_new_stream(context, nil) else { throw MediaError(call: "avformat_new_stream", code: lc_averror_enomem()) }
        s.pointee.codecpar.pointee.codec_type = AVMEDIA_TYPE_DATA
        s.pointee.codecpar.pointee.codec_id = AV_CODEC_ID_TIMED_ID3
        s.pointee.time_base = AVRational(num: 1, den: 90000)
        // The interleaver waits for a packet on every stream, up to max_interleave_delta
        // (10 s by default): a sparse metadata stream must not hold audio and video back.
        if context.pointee.max_interleave_delta > 500_000 { context.pointee.max_interleave_delta = 500_000 }
        return Int(s.pointee.index)
    }

    /// Writes one data packet (`bytes` at `pts` in `timeBase`) to a data stream, interleaved
    /// with the other streams.
    public func writeData(_ bytes: [UInt8], stream index: Int, pts: Int64, duration: Int64 = 0, timeBase: Rational) throws {
        let packet = Packet()
        try check(av_new_packet(packet.pointer, Int32(bytes.count)), "av_new_packet")
        bytes.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { packet.pointer.pointee.data.update(from: base, count: bytes.count) }
        }
        packet.pts = pts
        packet.dts = pts
        packet.duration = duration
        packet.pointer.pointee.flags |= AV_PKT_FLAG_KEY
        try write(packet, stream: index, timeBase: timeBase)
    }
}
