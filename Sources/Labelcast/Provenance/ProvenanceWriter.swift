import CFFmpeg
import Foundation
import Logging
import MediaIO
import Overlay

/// A run's machine-readable provenance (LABELS.md, "Machine-readable metadata"):
/// - the GB 45438 AIGC field as a container tag (MP4/MOV with `use_metadata_tags`, Matroska,
///   FLV), or for MPEG-TS as ID3 timed metadata in a data stream, sent at each synthetic
///   segment's start and every `id3Interval` inside it, so a viewer joining late sees it;
/// - one chapter per synthetic segment (MP4, Matroska), titled with the label text;
/// - the `--segments-out` sidecar.
/// Segments are taken from the frames that reached the muxer, so they say what was written.
///
/// The runner calls `init` once the input is open, `prepare` before the header, `frameWritten`
/// on the mux queue for each written frame, and `finish` after the last packet, before the
/// trailer: all from one thread at a time.
final class ProvenanceWriter: @unchecked Sendable {
    /// How often the ID3 tag repeats inside a synthetic segment (MPEG-TS).
    static let id3Interval = 2.0
    /// The same for HLS with MPEG-TS segments: often enough that every segment a synthetic
    /// range touches holds a tag of its own (segments are a keyframe interval, 2 s, or more).
    static let segmentedID3Interval = 0.5

    let settings: ProvenanceSettings
    /// The mode the Timeline is built with: `--synthetic auto` resolved from the input's tags.
    let syntheticMode: SyntheticMode
    /// The input's own AIGC field (kept, never stripped), as (tag name, value).
    let inputMarking: (key: String, value: String)?
    /// The AIGC field value written to this output; nil while it carries none.
    private(set) var value: String?
    /// The value the output carries once a synthetic frame goes out.
    private var declared: String?
    /// A Matroska output with the AIGC field reserved in its header (`MatroskaTagPatch`).
    private(set) var reservedMatroskaTag = false
    /// `--c2pa-cert`/`--c2pa-key`: signs the finished file before it is renamed into place.
    var signer: OutputSigner?
    /// An HLS/DASH output (set by `SegmentMarking.attach` before `prepare`): HLS with MPEG-TS
    /// segments gets the timed-ID3 stream, fMP4 segments their emsg instead.
    var segmentLayout: SegmentMarking.Layout?

    /// The AIGC value the output carries now (nil while it carries none).
    var markingValue: String? { value }

    /// The synthetic ranges written so far, in order; the open one (still running) without
    /// an end. Mux queue only.
    var writtenSyntheticRanges: [(start: Double, end: Double?)] {
        closed.map { ($0.start, $0.end) } + (open.map { [($0.start, nil)] } ?? [])
    }

    private let job: LabelJob
    private let logger: Logger
    private let chapterTitle: String
    /// The input's chapters on the output's clock: kept, with the segments merged in.
    var inputChapters: [(start: Double, end: Double, title: String)] = []
    private let wallClock: Bool

    // Mux-queue state.
    private var muxer: Muxer?
    private var id3Stream: Int?
    private var primary: Lane = .video
    private var timeline: SyntheticTimeline?
    private var wholeStream = false
    private var lastID3 = -Double.infinity
    private var lastPrimary: (time: Double, read: UInt64)?
    private var closed: [Range] = []
    private var open: Range?
    /// Frames of the other lane written ahead of the primary lane (the lanes reach the muxer
    /// in their own order, seconds apart for a file): counted once the primary lane has
    /// passed their media time, when the segment they fall in is known. Counting them at once
    /// put them in whatever segment happened to be open (the sidecar disagreed with the frame
    /// log by up to a whole lane's lead).
    private var ahead: [FrameTrace] = []
    private var endOfStream = 0.0
    private var frameSpacing = 0.0

    private struct Range {
        var start: Double
        var end: Double?
        var startRead: UInt64
        var endRead: UInt64?
        var packets: [Lane: Int] = [:]
        var labeled: [Lane: Int] = [:]
        func contains(_ t: Double) -> Bool { t >= start - 1e-9 && (end.map { t < $0 } ?? true) }
    }

    /// `c2paDeclaration`: for `--synthetic auto`, what a C2PA manifest of the input says when it
    /// names an AI digital source type (valid, or failing validation: a declaration either way),
    /// used when the container carries no AIGC field.
    init(job: LabelJob, inputTags: [String: String], logger: Logger, c2paDeclaration: String? = nil) {
        self.job = job
        self.settings = job.provenance
        self.logger = logger
        self.chapterTitle = job.overlay?.text ?? LabelStyle().text
        self.wallClock = job.inputIsLive
        inputMarking = AIGCMetadata.find(in: inputTags)
        if job.synthetic == .auto {
            if let m = inputMarking {
                syntheticMode = .all
                if job.segments.isEmpty {
                    logger.notice("--synthetic auto: the input declares AIGC metadata (tag '\(m.key)'): all of it is treated as synthetic")
                }
            } else if let c2pa = c2paDeclaration {
                syntheticMode = .all
                if job.segments.isEmpty {
                    logger.notice("--synthetic auto: the input's C2PA manifest \(c2pa): all of it is treated as synthetic")
                }
            } else {
                syntheticMode = .none
                if job.segments.isEmpty {
                    logger.notice("--synthetic auto: the input has no AIGC metadata or C2PA declaration: it is treated as not synthetic")
                }
            }
        } else {
            syntheticMode = job.synthetic
        }
    }

    /// Before the header: decides the field value and puts it where the container takes it.
    /// A run that can become synthetic after the header (a live input, `--listen`, `--synthetic
    /// auto`) gets its place ready: MPEG-TS its timed-ID3 stream; the value itself goes out
    /// with the first synthetic frame (`frameWritten`), or before the trailer (MP4/MOV).
    func prepare(muxer: Muxer, timeline: SyntheticTimeline) throws {
        self.muxer = muxer
        self.timeline = timeline
        let ranges = timeline.ranges
        wholeStream = ranges == [SyntheticRange(start: 0)]
        let labeling = !ranges.isEmpty || value != nil  // a reopened live output keeps what went out
        if let marking = inputMarking {
            if let parsed = AIGCMetadata.parse(marking.value) {
                declared = parsed.propagated(by: settings.producer, id: settings.produceID, label: "1").jsonValue
                value = parsed.propagated(by: settings.producer, id: settings.produceID, label: labeling ? "1" : nil).jsonValue
            } else {
                declared = marking.value
                value = marking.value
                logger.warning("the input's \(marking.key) metadata is not in GB 45438 Appendix E form: kept as it is, without adding labelcast as propagator")
            }
        } else {
            declared = AIGCMetadata(contentProducer: settings.producer, produceID: settings.produceID).jsonValue
            if labeling { value = declared }
        }
        primary = (0..<Int(muxer.context.pointee.nb_streams)).contains {
            muxer.context.pointee.streams[$0]!.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
        } ? .video : .audio
        let canBecomeSynthetic = job.inputIsLive || job.listen != nil || job.synthetic == .auto
        if (muxer.needsInBandMetadata || segmentLayout == .hlsTS) && (value != nil || canBecomeSynthetic) {
            id3Stream = try muxer.addTimedID3Stream()
        }
        if value == nil, canBecomeSynthetic, ["matroska", "webm"].contains(muxer.formatName), muxer.temporaryPath != nil, let declared {
            // Matroska writes its tags now: reserve the field (see MatroskaTagPatch).
            muxer.setMetadata(MatroskaTagPatch.placeholderName, MatroskaTagPatch.placeholderValue(for: declared))
            reservedMatroskaTag = true
        }
        guard let value else { return }
        // Once per run: an output that is reopened (each reconnect attempt prepares a muxer)
        // carries the same ProduceID.
        if midStreamLock.withLock({ () -> Bool in let first = !announcedAIGC; announcedAIGC = true; return first }) {
            logger.notice("AIGC metadata: ProduceID \(settings.produceID) (ContentProducer \(settings.producer))")
        }
        muxer.setMetadata(AIGCMetadata.tagName, value)
        if !muxer.needsInBandMetadata, ["wav", "w64", "aiff", "adts", "rawvideo", "h264"].contains(muxer.formatName), !writesWAVChunk {
            logger.notice("the \(muxer.formatName) output has no place for AIGC metadata: use --segments-out for a machine-readable record")
        }
    }

    /// An AIGC field the input declared after it was opened (`InputMarkingWatch`), for
    /// `becomeSynthetic` to propagate; set on the demux queue, read on the mux queue.
    private var midStreamMarking: String?
    private let midStreamLock = NSLock()
    private var announcedAIGC = false

    /// The input declares `value` mid-stream (an onMetaData update, timed ID3, a new source):
    /// an output not marked yet carries that field propagated (GB 45438 Appendix E: the
    /// producer and its ProduceID kept, labelcast as ContentPropagator) from its first
    /// synthetic frame, as a field read at open is. Any queue.
    func adoptInputMarking(_ value: String) {
        midStreamLock.withLock { midStreamMarking = value }
    }

    /// The first synthetic frame of a run that started without a marking: from here the
    /// output carries one. FLV (and RTMP) gets an updated onMetaData before the next packet
    /// (nginx-rtmp keeps the newest for players joining later); MPEG-TS gets the ID3 tag at
    /// this frame; MP4/MOV/Matroska get the tag before the trailer.
    private func becomeSynthetic(at t: Double) {
        guard value == nil, var declared, let muxer else { return }
        if inputMarking == nil, let input = midStreamLock.withLock({ midStreamMarking }) {
            declared = AIGCMetadata.parse(input)?.propagated(by: settings.producer, id: settings.produceID, label: "1").jsonValue ?? input
            self.declared = declared
            logger.notice("AIGC metadata from \(String(format: "%.3f", t)) s on: the input's field, propagated (ContentPropagator \(settings.producer), PropagateID \(settings.produceID))")
        } else {
            logger.notice("AIGC metadata from \(String(format: "%.3f", t)) s on: ProduceID \(settings.produceID) (ContentProducer \(settings.producer))")
        }
        value = declared
        muxer.setMetadata(AIGCMetadata.tagName, declared)
        if muxer.formatName == "flv" {
            // The update goes before the next packet FFmpeg writes: packets its interleaver
            // still holds (pictures up to this one, while the audio lags) are written first, or
            // a player would read the marking ahead of pictures that are not synthetic.
            do { try muxer.flushInterleaving() } catch {
                logger.warning("the output's queued packets could not be written before the AIGC update: \(error)")
            }
            muxer.context.pointee.event_flags |= Int32(AVFMT_EVENT_FLAG_METADATA_UPDATED)
        }
        if id3Stream == nil, muxer.needsInBandMetadata || segmentLayout == .hlsTS {
            logger.warning("the MPEG-TS output was opened without a timed-metadata stream: the AIGC field cannot be sent in-band from \(String(format: "%.3f", t)) s")
        }
    }

    /// On the mux queue, after each frame's packet was written.
    func frameWritten(_ trace: FrameTrace) {
        let t = trace.mediaTime
        guard trace.lane == primary else {
            // The marking goes out with the primary lane's first synthetic frame: the other
            // lane's packets reach the muxer on their own schedule (a copied live stream's audio
            // is decided frames later; a re-encoded picture waits for its fresh encoder), so an
            // audio packet at the instant can be written before the pictures up to it, and a
            // player switching on the marking would label them. Only while the primary lane is
            // not coming (none yet, or stalled a second) does the other lane's first synthetic
            // frame — one that starts in synthetic time — carry it.
            let primaryStalled = lastPrimary.map { t > $0.time + 1 } ?? true
            if trace.synthetic, value == nil, primaryStalled, timeline?.isSynthetic(at: t) ?? true { becomeSynthetic(at: t) }
            if let last = lastPrimary?.time, t < last { countOther(trace) } else { ahead.append(trace) }
            // Bounded: a primary lane that stopped (video lost upstream) leaves the rest
            // counted as things stand.
            if ahead.count > 4096 {
                let oldest = ahead.prefix(1024)
                ahead.removeFirst(1024)
                oldest.forEach(countOther)
            }
            return
        }
        // What the other lane wrote ahead of this frame belongs to the segments as they
        // stand before it: this frame can only end the open one at `t`.
        if !ahead.isEmpty {
            let due = ahead.filter { $0.mediaTime < t }
            ahead.removeAll { $0.mediaTime < t }
            due.forEach(countOther)
        }
        if trace.synthetic {
            if value == nil { becomeSynthetic(at: t) }
            if open == nil {
                open = Range(start: t, startRead: trace[.read])
                writeID3(at: t)
            } else if t >= lastID3 + (segmentLayout == .hlsTS ? Self.segmentedID3Interval : Self.id3Interval) {
                writeID3(at: t)
            }
            count(trace, in: &open!)
        } else {
            if var r = open {
                r.end = t
                r.endRead = trace[.read]
                closed.append(r)
                open = nil
                if wallClock { try? writeSidecar(endSeconds: t) }
            }
            // An input that declared AIGC itself is marked throughout.
            if inputMarking != nil, t >= lastID3 + Self.id3Interval { writeID3(at: t) }
        }
        if let last = lastPrimary, t > last.time { frameSpacing = t - last.time }
        lastPrimary = (t, trace[.read])
    }

    /// After the last packet, before the trailer: closes a segment still open at the end of
    /// the stream (the primary lane's last packet end) and adds the chapters.
    func finish(writtenSeconds: [Lane: Double]) throws {
        // The end of the stream: the last frame's end (its start plus the frame spacing), or
        // the muxer's own record when that says more.
        let lastEnd = lastPrimary.map { $0.time + frameSpacing } ?? 0
        let end = max(writtenSeconds[primary] ?? writtenSeconds.values.max() ?? 0, lastEnd)
        endOfStream = end
        if var r = open {
            r.end = max(end, lastPrimary?.time ?? r.start)
            r.endRead = lastPrimary?.read
            closed.append(r)
            open = nil
        }
        // The other lane's last frames, now that every segment has its end.
        ahead.forEach(countOther)
        ahead = []
        if let muxer, signer != nil || reservedMatroskaTag || (writesWAVChunk && value != nil) {
            // After the trailer, on the complete file under its temporary name: first the
            // Matroska tag reserved in the header, then the signature, which binds the file's
            // final bytes (segments as written).
            let ranges = closed.map { (start: $0.start, end: $0.end ?? end) }
            // The marks the manifest names are those the written packets carry.
            let marked = Set(closed.flatMap { r in r.labeled.filter { $0.value > 0 }.map(\.key) })
            let wavChunk = writesWAVChunk
            muxer.beforeRename = { [weak self, signer, wholeStream, value] path in
                try self?.completeReservedTag(file: path)
                if let value, wavChunk {
                    do { try WAVChunkPatch.apply(file: path, value: value) } catch { throw LabelcastError("output: \(error)") }
                }
                try signer?.sign(path: path, ranges: ranges, wholeStream: wholeStream, aigcValue: value, markedLanes: marked)
            }
        }
        if let muxer, muxer.supportsChapters {
            // A chapter per segment shows players which parts are synthetic; when the whole
            // stream is, the container tag says so and one chapter would add nothing. The
            // input's own chapters stay, with the segments merged in.
            let segments = wholeStream ? [] : closed.map { (start: $0.start, end: $0.end ?? end) }
            let tb = Rational(1, 1_000_000)
            for c in ChapterPlan.merge(input: inputChapters, segments: segments, labelTitle: chapterTitle,
                                       contiguous: muxer.chaptersAreContiguous, end: end) {
                try muxer.addChapter(start: MediaTime.timestamp(seconds: c.start, tb), end: MediaTime.timestamp(seconds: c.end, tb),
                                     timeBase: tb, title: c.title)
            }
        }
    }

    /// A WAV file output: the AIGC field goes into chunks appended after the trailer
    /// (`WAVChunkPatch`); stdout and URLs cannot be rewritten, so they get none.
    private var writesWAVChunk: Bool { muxer?.formatName == "wav" && muxer?.temporaryPath != nil }

    /// After the trailer, before the output is renamed into place: fills or voids the
    /// Matroska tag reserved in the header.
    func completeReservedTag(file path: String?) throws {
        guard reservedMatroskaTag, let path else { return }
        do { try MatroskaTagPatch.apply(file: path, value: value) } catch {
            throw LabelcastError("output: \(error)")
        }
    }

    /// After the trailer: the `--segments-out` sidecar, written whole (temporary file + rename).
    func writeSidecar() throws {
        try writeSidecar(endSeconds: endOfStream)
    }

    /// Counts a frame of the non-primary lane in the segment its media time falls in, if any.
    private func countOther(_ trace: FrameTrace) {
        let t = trace.mediaTime
        if let i = closed.lastIndex(where: { $0.contains(t) }) {
            count(trace, in: &closed[i])
        } else if open?.contains(t) == true {
            count(trace, in: &open!)
        }
    }

    private func count(_ trace: FrameTrace, in r: inout Range) {
        r.packets[trace.lane, default: 0] += 1
        if trace.labeled { r.labeled[trace.lane, default: 0] += 1 }
    }

    private func writeID3(at t: Double) {
        guard let muxer, let id3Stream, let value else { return }
        let tb = Rational(1, 90000)
        do {
            try muxer.writeData(TimedID3.tag(description: AIGCMetadata.tagName, value: value), stream: id3Stream,
                                pts: MediaTime.timestamp(seconds: max(0, t), tb), timeBase: tb)
            lastID3 = t
        } catch {
            logger.warning("could not write the AIGC timed metadata at \(String(format: "%.3f", t)) s: \(error)")
        }
    }

    private func writeSidecar(endSeconds: Double) throws {
        guard let path = settings.segmentsOut else { return }
        var all = closed
        if var r = open { r.end = endSeconds; r.endRead = lastPrimary?.read; all.append(r) }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let now = FrameTrace.now()
        func utc(_ read: UInt64?) -> String? {
            guard wallClock, let read, read > 0 else { return nil }
            return iso.string(from: Date(timeIntervalSinceNow: -Double(now &- read) / 1e9))
        }
        func micro(_ t: Double) -> Double { (t * 1e6).rounded() / 1e6 }
        let sidecar = SegmentSidecar(
            input: Redaction.url(job.input), output: Redaction.url(job.output), aigc: value,
            payloadID: job.payloadID.map { String(format: "0x%08X", $0) },
            segments: all.map { r in
                SegmentSidecar.Segment(start: micro(r.start), end: micro(r.end ?? endSeconds), startUTC: utc(r.startRead), endUTC: utc(r.endRead),
                                       packets: Dictionary(uniqueKeysWithValues: r.packets.map { ($0.key.rawValue, $0.value) }),
                                       labeledPackets: Dictionary(uniqueKeysWithValues: r.packets.keys.sorted()
                                                                    .map { ($0.rawValue, r.labeled[$0] ?? 0) }))
            })
        do {
            try sidecar.encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw LabelcastError("--segments-out '\(path)' cannot be written: \(error.localizedDescription)")
        }
    }
}
