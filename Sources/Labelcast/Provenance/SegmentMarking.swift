import CFFmpeg
import Foundation
import Logging
import MediaIO
import Synchronization

/// The AIGC marking of a segmented output (HLS with MPEG-TS or fMP4 segments, DASH, and DASH
/// as low-latency CMAF), each in the place its players read:
/// - MPEG-TS segments: ID3 timed metadata (the `timed_id3` stream `ProvenanceWriter` writes,
///   repeated often enough that every synthetic segment holds one);
/// - fMP4 segments: one `emsg` (version 1, scheme `https://aomedia.org/emsg/ID3`, the AOM
///   "ID3 in CMAF" carriage) per synthetic range the segment overlaps, before its first `moof`;
/// - fMP4 init segments: the AIGC tag in `moov/udta/meta` (the `use_metadata_tags` form);
/// - HLS playlists: an `EXT-X-DATERANGE` per synthetic range (on the `EXT-X-PROGRAM-DATE-TIME`
///   timeline the playlist carries);
/// - DASH manifests: an `EventStream` with an `Event` per synthetic range, and an
///   `InbandEventStream` on each adaptation set announcing the `emsg`s.
/// Segments are judged by the frames written (the `ProvenanceWriter`'s ranges), so a live
/// switch marks the segments from the switch on.
///
/// Runs on the mux queue: FFmpeg's segmenter hands each finished file over from inside a
/// packet write (or the trailer, on the runner's thread after the mux queue drained).
final class SegmentMarking: @unchecked Sendable {
    /// Which segmenter and segment format.
    enum Layout: Sendable, Equatable {
        case hlsTS, hlsFMP4, dash
        var isFMP4: Bool { self != .hlsTS }
    }

    static let emsgScheme = "https://aomedia.org/emsg/ID3"
    /// The `CLASS` of the playlist's date ranges and the scheme of the MPD's event stream.
    static let dateRangeClass = "org.labelcast.aigc"
    static let eventScheme = "urn:org.labelcast:aigc:2026"
    /// The emsg time scale: MPEG-TS's 90 kHz, which ID3 timestamps use elsewhere.
    static let emsgTimescale: UInt32 = 90_000

    let layout: Layout
    private let provenance: ProvenanceWriter
    private let logger: Logger
    /// Per init segment written: its path, its tracks' time scales, and its bytes while they
    /// carry no AIGC tag (written before anything was synthetic).
    private var inits: [(path: String, tracks: [UInt32: (timescale: UInt32, defaultDuration: UInt32)], untagged: [UInt8]?)] = []
    /// The program date of media time 0 (the first segment's EXT-X-PROGRAM-DATE-TIME).
    private var programDateOrigin: Date?
    private var warnedUntimedSegment = false
    private var warnedUndatedPlaylist = false
    private(set) var markedSegments = 0
    /// HLS TS segments with SCTE-35: each segment's SCTE-35 PES back into sections (`SCTE35TSFilter`;
    /// one filter for all segments, so continuity counts on from one segment to the next).
    var scte35: SCTE35TSFilter?

    /// An SCTE-35 cue for the HLS playlist: an `EXT-X-DATERANGE` with `SCTE35-OUT`, `-IN` or
    /// `-CMD` (RFC 8216bis §4.4.5.1.1), placed before the segment holding `at`.
    struct PlaylistCue: Sendable {
        var id: String
        /// Media time of the date range's START-DATE (a break's return carries its start's).
        var start: Double
        /// Media time of the splice point this tag announces (where it goes in the playlist).
        var at: Double
        var attribute: String
        var hex: String
        var plannedDuration: Double?
        var duration: Double?
    }
    /// Cues seen in the input, oldest first (demux queue in, playlist writer out); bounded.
    private let cues = Mutex<[PlaylistCue]>([])
    static let cueLimit = 10_000

    private init(layout: Layout, provenance: ProvenanceWriter, logger: Logger) {
        self.layout = layout
        self.provenance = provenance
        self.logger = logger
    }

    // MARK: setting up

    /// Checks `--muxer-opt` against the output's muxer, merges labelcast's defaults for a
    /// segmented output with them into `options`, and, for an HLS or DASH file output, installs
    /// the marking. Call before `ProvenanceWriter.prepare` (which needs the layout) and before
    /// the header. Nil for any other output.
    static func attach(to muxer: Muxer, job: LabelJob, provenance: ProvenanceWriter, logger: Logger,
                       options: inout [String: String]) throws -> SegmentMarking? {
        for (key, value) in job.muxerOptions {
            let found = key.withCString { av_opt_find(UnsafeMutableRawPointer(muxer.context), $0, nil, 0, AV_OPT_SEARCH_CHILDREN) }
            if found == nil {
                throw LabelcastError("--muxer-opt \(key)=\(value): the \(muxer.formatName) muxer has no option '\(key)' (list them with `ffmpeg -h muxer=\(muxer.formatName)`)")
            }
        }
        if job.cmafLowLatency, muxer.formatName != "dash" {
            throw LabelcastError("--cmaf-ll writes low-latency CMAF through DASH: give an .mpd output or -f dash (this output is \(muxer.formatName))")
        }
        let segmented = ["hls", "dash"].contains(muxer.formatName)
        if segmented { options.merge(defaults(for: muxer, job: job)) { _, new in new } }
        for (key, value) in job.muxerOptions {
            // A flags value that adds or removes (`+x`, `-x`) adds to labelcast's own.
            if let old = options[key], value.hasPrefix("+") || value.hasPrefix("-") { options[key] = old + value } else { options[key] = value }
        }
        guard segmented else { return nil }
        if muxer.formatName == "hls", let flags = options["hls_flags"], !flags.contains("program_date_time") {
            // The date ranges are placed on the program-date timeline.
            options["hls_flags"] = flags + "+program_date_time"
        }
        let type = options["hls_segment_type"]?.lowercased()
        let layout: Layout = muxer.formatName == "dash" ? .dash : (type == "fmp4" || type == "1") ? .hlsFMP4 : .hlsTS
        provenance.segmentLayout = layout
        guard muxer.finalPath != nil || Muxer.isFilePath(job.output) else {
            logger.notice("the \(muxer.formatName) output goes to a URL: its segments carry \(layout == .hlsTS ? "ID3 timed metadata" : "no emsg"), its playlist no AIGC date ranges (write to a folder for the full marking)")
            return nil
        }
        let marking = SegmentMarking(layout: layout, provenance: provenance, logger: logger)
        let output = SegmentedOutput(muxer: muxer)
        output.transform = { file in try marking.mark(&file) }  // the output keeps the marking alive
        muxer.segmented = output
        provenance.signer?.attach(to: output, provenance: provenance)  // C2PA: hashes each segment after its marking
        return marking
    }

    /// labelcast's muxer options for a segmented output: visible segment names next to the
    /// playlist (FFmpeg derives them from the playlist's name, which is a hidden temporary one
    /// until the run completes), segments as long as the keyframe interval, every segment
    /// listed for a file input, and the program-date timeline the date ranges need.
    static func defaults(for muxer: Muxer, job: LabelJob) -> [String: String] {
        let final = job.output
        let dir = (final as NSString).deletingLastPathComponent
        let stem = ((final as NSString).lastPathComponent as NSString).deletingPathExtension
        let prefix = (dir.isEmpty ? "" : dir + "/") + stem
        let gop = String(format: "%g", job.video.gopSeconds)
        var o: [String: String] = [:]
        if muxer.formatName == "hls" {
            o["hls_time"] = gop
            o["hls_flags"] = "+program_date_time+independent_segments"
            if !job.inputIsLive {
                o["hls_list_size"] = "0"
                o["hls_playlist_type"] = "vod"
            }
            let type = job.muxerOptions.last(where: { $0.key == "hls_segment_type" })?.value.lowercased()
            let fmp4 = type == "fmp4" || type == "1"
            o["hls_segment_filename"] = prefix + (fmp4 ? "%d.m4s" : "%d.ts")
            if fmp4 { o["hls_fmp4_init_filename"] = stem + "_init.mp4" }
        } else {
            o["seg_duration"] = gop
            o["init_seg_name"] = stem + "-$RepresentationID$-init.$ext$"
            o["media_seg_name"] = stem + "-$RepresentationID$-$Number%05d$.$ext$"
            if job.cmafLowLatency {
                // Low-latency CMAF: each segment written as chunks (a moof/mdat pair every
                // 0.5 s) a player can take while the segment is still growing.
                o["ldash"] = "1"
                o["streaming"] = "1"
                o["frag_type"] = "duration"
                o["frag_duration"] = "0.5"
                o["use_template"] = "1"
                o["use_timeline"] = "0"
                o["target_latency"] = "3"
                o["write_prft"] = "1"
            }
        }
        return o
    }

    // MARK: marking

    /// `SegmentedOutput.transform`: marks one finished file.
    func mark(_ file: inout SegmentedOutput.File) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        let before = file.bytes.count
        defer {
            // On the mux queue: what marking costs per file (`-v` shows it).
            let micros = Double(DispatchTime.now().uptimeNanoseconds - started) / 1000
            logger.debug("segment marking: \((file.path as NSString).lastPathComponent) (\(file.kind), \(before) → \(file.bytes.count) bytes) in \(String(format: "%.0f", micros)) µs")
        }
        switch file.kind {
        case .initSegment:
            let tracks = BMFFBox.trackTimescales(initSegment: file.bytes)
            if let value = provenance.markingValue, let tagged = BMFFBox.addingMetadata(key: AIGCMetadata.tagName, value: value, toInit: file.bytes) {
                inits.append((file.path, tracks, nil))
                file.bytes = tagged
            } else {
                inits.append((file.path, tracks, file.bytes))
            }
        case .mediaSegment:
            markFragment(&file)
        case .playlist:
            file.bytes = Array(markPlaylist(String(decoding: file.bytes, as: UTF8.self)).utf8)
        case .manifest:
            file.bytes = Array(markManifest(String(decoding: file.bytes, as: UTF8.self)).utf8)
        case .other:
            if let scte35, file.bytes.first == 0x47 {
                file.bytes = file.bytes.withUnsafeBytes { scte35.filter($0) } + scte35.finish()
            }
        }
    }

    /// The synthetic ranges written so far, numbered from 1 (the event id of each).
    private var ranges: [(id: Int, start: Double, end: Double?)] {
        provenance.writtenSyntheticRanges.enumerated().map { ($0.offset + 1, $0.element.start, $0.element.end) }
    }

    private func markFragment(_ file: inout SegmentedOutput.File) {
        let all = ranges
        guard !all.isEmpty, let value = provenance.markingValue else { return }
        // The init segment of this segment's representation: the one whose name shares the
        // longest start with it (DASH writes one per representation, all with track 1).
        let tracks = inits.max { commonPrefix($0.path, file.path) < commonPrefix($1.path, file.path) }?.tracks ?? [:]
        guard let span = BMFFBox.segmentSpan(file.bytes, tracks: tracks) else {
            if !warnedUntimedSegment {
                warnedUntimedSegment = true
                logger.warning("segment '\((file.path as NSString).lastPathComponent)' has no readable fragment times: it gets no emsg")
            }
            return
        }
        let eps = 1e-3
        var boxes: [UInt8] = []
        let id3 = TimedID3.tag(description: AIGCMetadata.tagName, value: value)
        let scale = Double(Self.emsgTimescale)
        for r in all where r.start < span.end - eps && (r.end ?? .infinity) > span.start + eps {
            // The same event (id, start, duration) in every segment it covers, so a player that
            // joins mid-range still sees it.
            let duration = r.end.map { UInt32(min(Double(UInt32.max - 1), (($0 - r.start) * scale).rounded())) } ?? UInt32.max
            boxes += BMFFBox.emsg(schemeIDURI: Self.emsgScheme, value: "", timescale: Self.emsgTimescale,
                                  presentationTime: UInt64(max(0, r.start * scale).rounded()), eventDuration: duration,
                                  id: UInt32(r.id), messageData: id3)
        }
        guard !boxes.isEmpty, let marked = BMFFBox.inserting(boxes, beforeFirstMoofIn: file.bytes) else { return }
        file.bytes = marked
        markedSegments += 1
        tagInitSegments(value: value)
    }

    /// A run switched synthetic after its init segments were written: they get the tag now
    /// (rewritten whole, under a temporary name and renamed), for the players that join from
    /// here on; those already playing have the emsgs and date ranges.
    private func tagInitSegments(value: String) {
        for i in inits.indices {
            guard let bytes = inits[i].untagged, let tagged = BMFFBox.addingMetadata(key: AIGCMetadata.tagName, value: value, toInit: bytes) else { continue }
            let path = inits[i].path
            do {
                try SegmentedOutput.write(tagged, to: path + ".aigc-tmp")
                guard rename(path + ".aigc-tmp", path) == 0 else { throw LabelcastError(String(cString: strerror(errno))) }
                inits[i].untagged = nil
                provenance.signer?.initSegmentRewritten(path: path, bytes: tagged)  // C2PA signs this copy
                logger.notice("AIGC tag added to the init segment '\((path as NSString).lastPathComponent)' (the run turned synthetic after it was written)")
            } catch {
                unlink(path + ".aigc-tmp")
                inits[i].untagged = nil
                logger.warning("could not add the AIGC tag to the init segment '\((path as NSString).lastPathComponent)': \(error)")
            }
        }
    }

    private func commonPrefix(_ a: String, _ b: String) -> Int {
        zip(a, b).prefix { $0 == $1 }.count
    }

    // MARK: HLS playlist

    private static let programDateParser: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        return f
    }()

    static func utc(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    /// An SCTE-35 section of the input whose splice point is at `mediaTime`: becomes a date
    /// range in the HLS playlist (an `Event` in a DASH manifest) (every command repeat of the same event is one tag; a
    /// cancelled event, splice_null and other commands none). Called on the demux queue.
    func noteSplice(_ section: SpliceInfoSection, at mediaTime: Double) {
        guard let command = section.command, !command.cancel else { return }
        let hex = section.hex
        cues.withLock { list in
            var cue: PlaylistCue
            switch (command.type, command.outOfNetwork) {
            case (0x05, let out?):
                let id = "splice-\(command.eventID ?? 0)"
                if out {
                    guard !list.contains(where: { $0.id == id && $0.attribute == "SCTE35-OUT" }) else { return }
                    cue = PlaylistCue(id: id, start: mediaTime, at: mediaTime, attribute: "SCTE35-OUT", hex: hex,
                                      plannedDuration: command.breakDuration.map { Double($0) / 90_000 })
                } else {
                    guard !list.contains(where: { $0.id == id && $0.attribute == "SCTE35-IN" }) else { return }
                    // The return to the network: the same ID as the break it ends, with that
                    // break's START-DATE and its actual DURATION (the attributes the two share agree).
                    if let out = list.last(where: { $0.id == id && $0.attribute == "SCTE35-OUT" }), mediaTime >= out.start {
                        cue = PlaylistCue(id: id, start: out.start, at: mediaTime, attribute: "SCTE35-IN", hex: hex, duration: mediaTime - out.start)
                    } else {
                        cue = PlaylistCue(id: id, start: mediaTime, at: mediaTime, attribute: "SCTE35-IN", hex: hex)
                    }
                }
            case (0x06, _):
                let id = String(format: "signal-%.3f", mediaTime)
                guard !list.contains(where: { $0.id == id }) else { return }
                cue = PlaylistCue(id: id, start: mediaTime, at: mediaTime, attribute: "SCTE35-CMD", hex: hex)
            default:
                return
            }
            list.append(cue)
            if list.count > Self.cueLimit { list.removeFirst(list.count - Self.cueLimit) }
        }
    }

    /// The playlist with an `EXT-X-DATERANGE` before the first listed segment each synthetic
    /// range touches (ranges wholly before the listed window are left out, as their segments are).
    func markPlaylist(_ text: String) -> String {
        var lines = text.components(separatedBy: "\n")
        // Each segment: the index of its first tag line, its program date and duration.
        var segments: [(first: Int, date: Date?, duration: Double)] = []
        var blockStart: Int? = nil
        var date: Date? = nil
        var duration = 0.0
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("#EXTINF:") {
                if blockStart == nil { blockStart = i }
                duration = Double(line.dropFirst(8).prefix { $0 != "," }) ?? 0
            } else if line.hasPrefix("#EXT-X-PROGRAM-DATE-TIME:") {
                if blockStart == nil { blockStart = i }
                date = Self.programDateParser.date(from: String(line.dropFirst(25)))
            } else if line.hasPrefix("#EXT-X-DISCONTINUITY") && !line.hasPrefix("#EXT-X-DISCONTINUITY-SEQUENCE") {
                if blockStart == nil { blockStart = i }
            } else if !line.isEmpty && !line.hasPrefix("#") {
                segments.append((blockStart ?? i, date, duration))
                blockStart = nil; date = nil; duration = 0
            }
        }
        if programDateOrigin == nil, let first = segments.first?.date { programDateOrigin = first }
        let all = ranges
        let spliceCues = cues.withLock { $0 }
        guard let origin = programDateOrigin, !all.isEmpty || !spliceCues.isEmpty else {
            if !all.isEmpty || !spliceCues.isEmpty, programDateOrigin == nil, !segments.isEmpty, !warnedUndatedPlaylist {
                warnedUndatedPlaylist = true
                logger.warning("an HLS playlist of this output has no EXT-X-PROGRAM-DATE-TIME: it gets no AIGC or SCTE-35 date ranges (the segments' own markings remain)")
            }
            return text
        }
        let timed = segments.compactMap { s in s.date.map { (s.first, $0.timeIntervalSince(origin), s.duration) } }
        var inserts: [(at: Int, line: String)] = []
        // SCTE-35 cues: before the listed segment holding the splice point (none for a point
        // before the listed window or after the last segment written so far).
        for cue in spliceCues {
            guard let first = timed.first, cue.at >= first.1 - 1e-3,
                  let holder = timed.first(where: { $0.1 + $0.2 > cue.at + 1e-3 }) else { continue }
            var line = "#EXT-X-DATERANGE:ID=\"\(cue.id)\",START-DATE=\"\(Self.utc(origin.addingTimeInterval(cue.start)))\""
            if let d = cue.duration { line += String(format: ",DURATION=%.3f", d) }
            if let d = cue.plannedDuration { line += String(format: ",PLANNED-DURATION=%.3f", d) }
            line += ",\(cue.attribute)=\(cue.hex)"
            inserts.append((holder.0, line))
        }
        let hex = provenance.markingValue.map { $0.utf8.map { String(format: "%02X", $0) }.joined() }
        for r in all {
            guard let hex else { break }
            // The listed segment holding the range's start, or the first one if it started earlier.
            guard let firstListed = timed.first else { break }
            if let end = r.end, end <= firstListed.1 + 1e-3 { continue }
            guard let holder = timed.first(where: { $0.1 + $0.2 > r.start + 1e-3 }) else { continue }
            let at = holder.1 > r.start ? firstListed.0 : holder.0
            var line = "#EXT-X-DATERANGE:ID=\"aigc-\(r.id)\",CLASS=\"\(Self.dateRangeClass)\",START-DATE=\"\(Self.utc(origin.addingTimeInterval(r.start)))\""
            if let end = r.end { line += String(format: ",DURATION=%.3f", end - r.start) }
            line += ",X-AIGC-LABEL=\"AI-generated\",X-AIGC=0x\(hex)"
            inserts.append((at, line))
        }
        // Stable: tags for the same segment keep their order (cues first, by time).
        for insert in inserts.enumerated().sorted(by: { ($0.element.at, $0.offset) > ($1.element.at, $1.offset) }) {
            lines.insert(insert.element.line, at: insert.element.at)
        }
        return lines.joined(separator: "\n")
    }

    // MARK: DASH manifest

    static func xmlEscaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// SCTE 214-1's carriage of SCTE-35 in an MPD: an `EventStream` of scheme
    /// `urn:scte:scte35:2014:xml+bin`, an `Event` per cue at its splice point (90 kHz from the
    /// period start, which is media time 0), a break's planned duration as its duration, and
    /// the splice_info_section in base64 inside an SCTE 35 `Signal`/`Binary` element.
    static func spliceEventStream(_ cues: [PlaylistCue]) -> String {
        var x = "<EventStream schemeIdUri=\"urn:scte:scte35:2014:xml+bin\" timescale=\"90000\">"
        for (i, cue) in cues.enumerated() {
            let bytes = stride(from: 2, to: cue.hex.count, by: 2).compactMap { o -> UInt8? in
                let a = cue.hex.index(cue.hex.startIndex, offsetBy: o)
                return UInt8(cue.hex[a..<cue.hex.index(a, offsetBy: 2)], radix: 16)
            }
            x += "<Event id=\"\(i + 1)\" presentationTime=\"\(Int64((max(0, cue.at) * 90_000).rounded()))\""
            if let d = cue.plannedDuration { x += " duration=\"\(Int64((d * 90_000).rounded()))\"" }
            x += "><Signal xmlns=\"http://www.scte.org/schemas/35/2016\"><Binary>\(Data(bytes).base64EncodedString())</Binary></Signal></Event>"
        }
        return x + "</EventStream>"
    }

    /// The manifest with an `EventStream` (an `Event` per synthetic range, times in ms from the
    /// period start) first in the period, and an `InbandEventStream` for the segments' emsg
    /// first in each adaptation set, where the MPD schema orders them.
    func markManifest(_ text: String) -> String {
        let all = ranges
        let spliceCues = cues.withLock { $0 }
        var out = text
        if !spliceCues.isEmpty,
           let period = out.range(of: "<Period"), let close = out.range(of: ">", range: period.upperBound..<out.endIndex) {
            out.insert(contentsOf: "\n\t\t" + Self.spliceEventStream(spliceCues), at: close.upperBound)
        }
        guard !all.isEmpty, let value = provenance.markingValue else { return out }
        let payload = Self.xmlEscaped(value)
        var events = "<EventStream schemeIdUri=\"\(Self.eventScheme)\" value=\"1\" timescale=\"1000\">"
        for r in all {
            events += "<Event id=\"\(r.id)\" presentationTime=\"\(Int((r.start * 1000).rounded()))\""
            if let end = r.end { events += " duration=\"\(Int(((end - r.start) * 1000).rounded()))\"" }
            events += ">\(payload)</Event>"
        }
        events += "</EventStream>"
        if let period = out.range(of: "<Period"), let close = out.range(of: ">", range: period.upperBound..<out.endIndex) {
            out.insert(contentsOf: "\n\t\t" + events, at: close.upperBound)
        }
        let inband = "\n\t\t\t<InbandEventStream schemeIdUri=\"\(Self.emsgScheme)\" value=\"\"/>"
        let parts = out.components(separatedBy: "<AdaptationSet")
        return parts.enumerated().map { i, part in
            guard i > 0, let close = part.firstIndex(of: ">") else { return part }
            var p = part
            p.insert(contentsOf: inband, at: p.index(after: close))
            return p
        }.joined(separator: "<AdaptationSet")
    }
}
