import C2PA
import CFFmpeg
import Foundation
import MediaIO

/// HLS in `labelcast inspect`: follows a playlist (a local `.m3u8` or an `http(s)://` URL) to
/// its media playlist — for a master playlist, the first variant listed (the report says which
/// and how many there were; the others are not read) — and reads what labelcast writes there
/// (`SegmentMarking`):
/// - the playlist's `EXT-X-DATERANGE`s of class `org.labelcast.aigc` (or any carrying `X-AIGC`),
///   as timed AIGC ranges on the media timeline (START-DATE minus the first listed segment's
///   `EXT-X-PROGRAM-DATE-TIME`);
/// - the fMP4 segments' `emsg` ID3 (`TXXX AIGC`), which libavformat skips, as timed ranges;
/// - the media itself: the init segment (if any) and the listed segments, in order, copied to
///   one private temporary file (MPEG-TS segments concatenate into one transport stream, fMP4
///   into one fragmented MP4), which the file passes then read — container tags, timed ID3,
///   watermarks — exactly as for a TS or MP4 file.
/// Everything fetched goes through `fetch` (the service's `URLGuard` checks each URL).
struct HLSInspection {
    struct Spooled {
        var path: String
        var info: InspectionReport.HLSInfo
        var layers: [InspectionReport.Layer]
        var notes: [String]
        var truncated: Bool
        /// fMP4 segments: the C2PA layer from the init segment validated with each media
        /// segment and the playlist order checked (`SegmentedC2PACheck`), nil without a manifest.
        var c2pa: InspectionReport.Layer?
        /// fMP4 segments: C2PA was checked per segment, so the joined copy (which no manifest
        /// binds as one file) must not be read for it.
        var c2paChecked: Bool
        func remove() { unlink(path) }
    }

    /// Reads a playlist or segment: a local path or a URL, at most the given number of bytes.
    typealias Fetch = (_ location: String, _ maxBytes: Int64) throws -> [UInt8]

    let source: String
    let display: String
    let maxBytes: Int64
    let fetch: Fetch
    /// PEM trust anchors for the segments' C2PA validation.
    var trustPEM: String? = nil

    /// Whether `input` names an HLS playlist: `.m3u8` in its path, or an `hls+` URL.
    static func isPlaylist(_ input: String) -> Bool {
        let lower = input.lowercased()
        if lower.hasPrefix("hls+") || lower.hasPrefix("hls://") { return true }
        let path = lower.split(separator: "?", maxSplits: 1).first.map(String.init) ?? lower
        return path.hasSuffix(".m3u8") || path.hasSuffix(".m3u")
    }

    /// The location to fetch for an input: `hls+http://…` → `http://…`.
    static func location(_ input: String) -> String {
        input.lowercased().hasPrefix("hls+") ? String(input.dropFirst(4)) : input
    }

    func run() throws -> Spooled {
        var notes: [String] = []
        let top = try playlist(at: source)
        var info = InspectionReport.HLSInfo(playlist: display, master: top.isMaster, variants: [], inspectedVariant: nil,
                                            segments: 0, segmentsListed: 0, segmentType: "mpegts", endList: false, dateRanges: 0)
        var media = top
        var mediaLocation = source
        if top.isMaster {
            info.variants = top.variants.prefix(64).map {
                InspectionReport.HLSInfo.Variant(uri: Redaction.url($0.uri), bandwidth: $0.bandwidth, resolution: $0.resolution, codecs: $0.codecs)
            }
            let first = top.variants[0]
            mediaLocation = HLSPlaylist.resolve(first.uri, against: source)
            info.inspectedVariant = Redaction.url(first.uri)
            media = try playlist(at: mediaLocation)
            guard !media.isMaster else { throw LabelcastError("HLS playlist '\(display)': its first variant is a master playlist again: give a media playlist") }
            if top.variants.count > 1 {
                notes.append("master playlist with \(top.variants.count) variants: the first listed ('\(Redaction.url(first.uri))') was inspected, the others were not read (inspect a variant's playlist to read it)")
            }
            if !top.renditions.isEmpty {
                notes.append("\(top.renditions.count) alternative rendition\(top.renditions.count == 1 ? "" : "s") (EXT-X-MEDIA) not read")
            }
        }
        guard !media.segments.isEmpty else { throw LabelcastError("HLS playlist '\(display)' lists no segment") }
        info.endList = media.endList
        info.segmentsListed = media.segments.count
        info.segmentType = media.initURI != nil ? "fmp4" : "mpegts"
        info.dateRanges = media.dateRanges.count
        if !media.endList { notes.append("live HLS playlist (no EXT-X-ENDLIST): the segments listed now were read") }

        let (path, fd) = try Self.makeFile()
        var ok = false
        defer { if !ok { unlink(path) } }
        defer { close(fd) }
        var written: Int64 = 0
        var truncated = false
        func append(_ bytes: [UInt8]) throws {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n == bytes.count else {
                throw LabelcastError("the temporary copy of the HLS segments cannot be written (\(String(cString: strerror(errno)))): free space in \(NSTemporaryDirectory())")
            }
            written += Int64(n)
        }
        var tracks: [UInt32: (timescale: UInt32, defaultDuration: UInt32)] = [:]
        var c2pa: SegmentedC2PACheck?
        if let initURI = media.initURI {
            let bytes = try fetch(HLSPlaylist.resolve(initURI, against: mediaLocation), maxBytes)
            tracks = BMFFBox.trackTimescales(initSegment: bytes)
            if FragmentedBMFF.hasC2PABox(bytes) { c2pa = SegmentedC2PACheck(initSegment: bytes, trustPEM: trustPEM) }
            try append(bytes)
        }
        var emsg = EmsgRanges()
        for segment in media.segments {
            let left = maxBytes - written
            guard left > 0 else { truncated = true; break }
            let bytes = try fetch(HLSPlaylist.resolve(segment.uri, against: mediaLocation), left)
            if media.initURI != nil { emsg.add(segment: bytes, tracks: tracks) }
            c2pa?.add(position: info.segments, uri: segment.uri, bytes: bytes)
            try append(bytes)
            info.segments += 1
            if written >= maxBytes { truncated = true; break }
        }
        if truncated { notes.append("HLS: \(info.segments) of \(media.segments.count) segments read (the size limit)") }
        let listedDuration = media.segments.prefix(info.segments).reduce(0) { $0 + $1.duration }

        var layers = Self.dateRangeLayers(media, duration: listedDuration)
        layers += emsg.layers(place: "fMP4 emsg ID3 (TXXX AIGC)", listedDuration: listedDuration)
        var c2paLayer: InspectionReport.Layer?
        if let c2pa {
            let library = try? C2PALibrary.shared()
            if library == nil { notes.append("C2PA not checked: the C2PA library was not found (`make deps`, or LABELCAST_C2PA_LIB)") }
            if c2pa.entries.count >= SegmentedC2PACheck.maxSegments { notes.append("C2PA: the first \(SegmentedC2PACheck.maxSegments) segments were validated") }
            c2paLayer = library == nil ? nil : c2pa.layer(endList: media.endList && !truncated, library: library?.versionString)
        }
        ok = true
        return Spooled(path: path, info: info, layers: layers, notes: notes, truncated: truncated || !media.endList,
                       c2pa: c2paLayer, c2paChecked: c2pa != nil)
    }

    private func playlist(at location: String) throws -> HLSPlaylist {
        let bytes = try fetch(location, 16 << 20)
        do {
            return try HLSPlaylist.parse(String(decoding: bytes, as: UTF8.self))
        } catch let e as HLSPlaylist.NotAPlaylist {
            throw LabelcastError("'\(Redaction.url(location))': \(e.description): give an .m3u8 playlist")
        }
    }

    /// The AIGC date ranges of a media playlist as layers: labelcast's class, or any range
    /// with an `X-AIGC` attribute (the Appendix E JSON as hex). One layer per distinct value;
    /// a labelcast-class range whose `X-AIGC` is missing or not hex reads as a malformed value.
    /// Times: START-DATE minus the first listed segment's program date; the end from DURATION,
    /// END-DATE, or (an open range) the listed media's end.
    static func dateRangeLayers(_ playlist: HLSPlaylist, duration: Double) -> [InspectionReport.Layer] {
        let origin = playlist.segments.first?.programDate
        var byValue: [(value: String, ranges: [InspectionReport.TimeRange])] = []
        var undated = 0
        for r in playlist.dateRanges {
            let ours = r.classValue == SegmentMarking.dateRangeClass
            guard ours || r.attributes["X-AIGC"] != nil else { continue }
            let value = r.attributes["X-AIGC"].flatMap(HLSPlaylist.hexBytes).map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard let origin, let startDate = r.startDate else {
                undated += 1
                continue
            }
            let start = startDate.timeIntervalSince(origin)
            let end = r.duration.map { start + $0 } ?? r.endDate.map { $0.timeIntervalSince(origin) } ?? max(start, duration)
            guard start.isFinite, end.isFinite, abs(start) < 1e9, abs(end) < 1e9 else { undated += 1; continue }
            let range = InspectionReport.TimeRange(start: max(0, start), end: max(0, start, end))
            if let i = byValue.firstIndex(where: { $0.value == value }) { byValue[i].ranges.append(range) } else { byValue.append((value, [range])) }
        }
        var layers = byValue.map { entry in
            Inspector.aigcLayer(place: "HLS EXT-X-DATERANGE (X-AIGC)", key: "X-AIGC", value: entry.value, timed: true, ranges: entry.ranges)
        }
        if undated > 0 {
            // Present but not placeable on the media timeline: still a (weaker) marking.
            var layer = Inspector.aigcLayer(place: "HLS EXT-X-DATERANGE (X-AIGC, not placeable)", key: "X-AIGC", value: "", timed: false, ranges: [])
            layer.summary = "\(undated) AIGC date range\(undated == 1 ? "" : "s") without a usable START-DATE or without EXT-X-PROGRAM-DATE-TIME on the segments"
            layer.problems = ["no media time: START-DATE or EXT-X-PROGRAM-DATE-TIME missing or unreadable"]
            layer.wellFormed = false
            layers.append(layer)
        }
        return layers
    }

    private static func makeFile() throws -> (String, Int32) {
        let path = NSTemporaryDirectory() + "labelcast-inspect-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).hls"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw LabelcastError("cannot make a temporary file in \(NSTemporaryDirectory()) for the HLS segments: \(String(cString: strerror(errno)))") }
        return (path, fd)
    }

    // MARK: fetching

    /// The CLI's fetch: a local path as is, a URL through libavformat's protocols (http, https).
    static func plainFetch(readTimeout: Double) -> Fetch {
        { location, maxBytes in
            if location.contains("://") && !location.lowercased().hasPrefix("file:") {
                return try RemoteFetch.bytes(url: location, options: [:], maxBytes: maxBytes, readTimeout: readTimeout)
            }
            let path = location.lowercased().hasPrefix("file:") ? String(location.dropFirst(5)) : location
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw LabelcastError("HLS: '\(path)' cannot be read: check that the playlist's segments are beside it")
            }
            defer { try? handle.close() }
            let data = try? handle.read(upToCount: Int(min(maxBytes, Int64(Int32.max))))
            return [UInt8](data ?? Data())
        }
    }
}

/// Whole small resources (playlists, segments) over libavformat's protocols.
enum RemoteFetch {
    static func bytes(url: String, options: [String: String], maxBytes: Int64, readTimeout: Double) throws -> [UInt8] {
        var dict: OpaquePointer?
        defer { av_dict_free(&dict) }
        av_dict_set(&dict, "rw_timeout", String(Int64(readTimeout * 1e6)), 0)
        for (k, v) in options { av_dict_set(&dict, k, v, 0) }
        var io: UnsafeMutablePointer<AVIOContext>?
        let r = avio_open2(&io, url, AVIO_FLAG_READ, nil, &dict)
        let display = Redaction.url(url)
        guard r >= 0 else { throw LabelcastError("cannot read '\(display)': \(StreamSpool.text(r))") }
        defer { avio_closep(&io) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while Int64(out.count) < maxBytes {
            let n = buffer.withUnsafeMutableBytes { avio_read(io, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(min(Int64($0.count), maxBytes - Int64(out.count)))) }
            if n > 0 { out += buffer[0..<Int(n)]; continue }
            if n == lc_averror_eof() || n == 0 { break }
            throw LabelcastError("reading '\(display)' failed after \(out.count) bytes: \(StreamSpool.text(n))")
        }
        return out
    }
}
