import AudioMark
import Foundation
import MediaIO
import VideoMark

/// `labelcast inspect`: reads every label layer of one input back — the GB 45438 AIGC field
/// wherever it is written, C2PA, the audio watermark, the video mark, labelcast's chapters and
/// segments sidecar — and gives the measures' verdict (`InspectionReport`).
///
/// A file is read whole: one demux pass for the container layers, one decode pass for the
/// watermarks, the C2PA library on the file (and its sidecar). A pipe (`-`) or a network input
/// is first copied to a temporary file over one connection (`StreamSpool`, bounded by
/// `window` seconds and `maxBytes`), inspected as a file and removed.
///
/// Blocking; run it off any event loop. Nothing is written except that temporary copy.
public struct Inspector: Sendable {
    public var input: String
    public var key: WatermarkKey
    /// The key is the public demo key (a note in the report says so).
    public var keyIsDemo: Bool
    /// Seconds of a live input or pipe to read; nil = to the end (files always are read whole).
    public var window: Double?
    /// Longest a pipe's copy may grow.
    public var maxBytes: Int64
    /// PEM trust anchors for C2PA signers.
    public var trustPEM: String?
    /// A `--segments-out` sidecar to read; nil = look for `NAME.segments.json` beside a file.
    public var segmentsSidecar: String?
    /// Seconds without data from a network input before giving up.
    public var readTimeout: Double

    /// Set by `labelcast serve` for `?url=`: every URL fetched (the input, an HLS playlist's
    /// variants and segments) must pass it. Nil: the CLI, which reads what its user gives.
    public var urlGuard: URLGuard?

    /// A live input read without `window` is read for this long.
    public static let defaultLiveWindow = 10.0

    public init(input: String, key: WatermarkKey, keyIsDemo: Bool, window: Double? = nil, maxBytes: Int64 = 2 << 30,
                trustPEM: String? = nil, segmentsSidecar: String? = nil, readTimeout: Double = 10) {
        self.input = input
        self.key = key
        self.keyIsDemo = keyIsDemo
        self.window = window
        self.maxBytes = maxBytes
        self.trustPEM = trustPEM
        self.segmentsSidecar = segmentsSidecar
        self.readTimeout = readTimeout
    }

    public func run() throws -> InspectionReport {
        let display = Redaction.url(input)
        let job = LabelJob(input: input, output: "-")
        // The service's ?url=: whatever the input is (a `file:` URL, a path, a playlist), it must
        // pass the guard before anything is opened.
        if let urlGuard { _ = try urlGuard.admit(HLSInspection.location(input)) }
        if HLSInspection.isPlaylist(input) {
            return try inspectHLS(display: display)
        }
        if DASHInspection.isManifest(input), !input.hasPrefix("file:") {
            return try inspectDASH(display: display)
        }
        if input == "-" || input == "pipe:0" || input == "pipe:" {
            let spool = try StreamSpool.standardInput(maxBytes: maxBytes, window: window)
            defer { spool.remove() }
            return try inspectFile(path: spool.path, display: "-", isCopy: true, windowed: spool.truncated)
        }
        if job.inputIsNetwork {
            let seconds = window ?? (job.inputIsLive ? Self.defaultLiveWindow : nil)
            var (url, options) = (input, [String: String]())
            if let urlGuard { (url, options) = try urlGuard.admit(input) }
            let spool: StreamSpool
            do {
                spool = try StreamSpool.network(url: url, display: display, window: seconds, maxBytes: maxBytes, readTimeout: readTimeout, options: options)
            } catch let e as LabelcastError where options["max_redirects"] != nil {
                throw LabelcastError(e.message + URLGuard.redirectHint)
            }
            defer { spool.remove() }
            return try inspectFile(path: spool.path, display: display, isCopy: true, windowed: spool.truncated)
        }
        if input.hasPrefix("file:") {
            return try Inspector(input: String(input.dropFirst(5)), key: key, keyIsDemo: keyIsDemo, window: window, maxBytes: maxBytes,
                                 trustPEM: trustPEM, segmentsSidecar: segmentsSidecar, readTimeout: readTimeout).run()
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
            throw LabelcastError("input '\(display)' does not exist: check the path")
        }
        guard !isDirectory.boolValue else { throw LabelcastError("input '\(display)' is a folder: give a media file") }
        guard FileManager.default.isReadableFile(atPath: input) else { throw LabelcastError("input '\(display)' cannot be read: check its permissions") }
        return try inspectFile(path: input, display: display, isCopy: false, windowed: false)
    }

    /// A DASH manifest: the media read by FFmpeg's DASH demuxer as for a file (a local
    /// manifest in place, a URL through the network spool), with the manifest's and the
    /// segments' own AIGC layers and the per-representation C2PA check added (`DASHInspection`).
    private func inspectDASH(display: String) throws -> InspectionReport {
        let local = !input.contains("://")
        if local {
            guard FileManager.default.isReadableFile(atPath: input) else {
                throw LabelcastError("input '\(display)' does not exist or cannot be read: check the path")
            }
        }
        var inspection = DASHInspection(source: input, display: display, maxBytes: maxBytes, fetch: segmentFetch())
        inspection.trustPEM = trustPEM
        let dash = try inspection.run()
        if local {
            return try inspectFile(path: input, display: display, isCopy: false, windowed: false, extraLayers: dash.layers, extraNotes: dash.notes,
                                   c2paChecked: dash.c2pa)
        }
        var (url, options) = (input, [String: String]())
        if let urlGuard { (url, options) = try urlGuard.admit(input) }
        let spool = try StreamSpool.network(url: url, display: display, window: window, maxBytes: maxBytes, readTimeout: readTimeout, options: options)
        defer { spool.remove() }
        return try inspectFile(path: spool.path, display: display, isCopy: true, windowed: spool.truncated, extraLayers: dash.layers, extraNotes: dash.notes,
                               c2paChecked: dash.c2pa)
    }

    /// How playlists, manifests and segments are read: through the service's URL guard, or
    /// (the CLI) local paths and URLs as they are.
    private func segmentFetch() -> HLSInspection.Fetch {
        if let urlGuard {
            let timeout = readTimeout
            return { location, maxBytes in
                let (url, options) = try urlGuard.admit(location)
                do {
                    return try RemoteFetch.bytes(url: url, options: options, maxBytes: maxBytes, readTimeout: timeout)
                } catch let e as LabelcastError where options["max_redirects"] != nil {
                    throw LabelcastError(e.message + URLGuard.redirectHint)
                }
            }
        }
        return HLSInspection.plainFetch(readTimeout: readTimeout)
    }

    /// An HLS playlist: its media copied to one temporary file (`HLSInspection`), inspected as
    /// a file, with the playlist's and the segments' own AIGC layers added.
    private func inspectHLS(display: String) throws -> InspectionReport {
        let location = HLSInspection.location(input)
        let fetch: HLSInspection.Fetch
        if urlGuard != nil {
            fetch = segmentFetch()
        } else {
            if !location.contains("://") {
                guard FileManager.default.isReadableFile(atPath: location) else {
                    throw LabelcastError("input '\(display)' does not exist or cannot be read: check the path")
                }
            }
            fetch = HLSInspection.plainFetch(readTimeout: readTimeout)
        }
        var inspection = HLSInspection(source: location, display: display, maxBytes: maxBytes, fetch: fetch)
        inspection.trustPEM = trustPEM
        let hls = try inspection.run()
        defer { hls.remove() }
        var report = try inspectFile(path: hls.path, display: display, isCopy: true, windowed: hls.truncated, extraLayers: hls.layers, extraNotes: hls.notes,
                                     c2paChecked: hls.c2paChecked ? hls.c2pa.map { [$0] } ?? [] : nil)
        report.hls = hls.info
        return report
    }

    private func inspectFile(path: String, display: String, isCopy: Bool, windowed: Bool,
                             extraLayers: [InspectionReport.Layer] = [], extraNotes: [String] = [],
                             c2paChecked: [InspectionReport.Layer]? = nil) throws -> InspectionReport {
        var notes: [String] = extraNotes
        let container = try ContainerMarkingScan(url: path, display: display, interrupter: IOInterrupter(), live: false).run()
        var detection: DetectionReport?
        if container.hasAudio || container.hasVideo {
            detection = try WatermarkScan(input: path, key: key).run()
        } else {
            notes.append("no audio or video stream: no watermark to look for")
        }
        var layers = metadataLayers(container) + extraLayers
        // A copy of standard input has no sidecar beside it, but an embedded manifest still reads.
        if let c2paChecked {
            // An HLS-fMP4 playlist: checked per segment (`SegmentedC2PACheck`).
            layers += c2paChecked
        } else if let c2pa = C2PAInspection.inspect(path: path, container: container.container, trustPEM: trustPEM, notes: &notes) {
            layers.append(c2pa)
        }
        if let detection { layers += watermarkLayers(detection) }
        layers += chapterLayers(container.chapters)
        if let sidecar = try sidecarLayer(path: isCopy ? nil : path, notes: &notes) { layers.append(sidecar) }
        if keyIsDemo, detection != nil { notes.append("watermarks were looked for with the public demo key: give --key-file (or LABELCAST_KEY) to find marks made with your key") }
        let duration = max(container.duration, detection?.duration ?? 0)
        return InspectionReport(input: display, container: container.container, duration: duration, windowed: windowed, layers: layers, notes: notes)
    }

    // MARK: layers

    func metadataLayers(_ container: ContainerMarkingScan.Result) -> [InspectionReport.Layer] {
        container.fields.map { field in
            Self.aigcLayer(place: field.place, key: field.key, value: field.value, timed: !field.times.isEmpty,
                           ranges: Self.ranges(times: field.times, placeIsUpdate: field.place.hasSuffix(" update"), duration: container.duration))
        }
    }

    /// One AIGC field's layer: the value checked as Appendix E, its tier from the Label.
    static func aigcLayer(place: String, key: String, value: String, timed: Bool, ranges: [InspectionReport.TimeRange]) -> InspectionReport.Layer {
        let check = AIGCValueCheck(value)
        let tier: InspectionReport.Tier
        var summary: String
        switch check.label {
        case "1": tier = .declared; summary = "Label 1 (AI-generated)"
        case "2": tier = .possibly; summary = "Label 2 (possibly AI-generated)"
        case "3": tier = .suspected; summary = "Label 3 (suspected AI-generated)"
        default: tier = .suspected; summary = "malformed AIGC value: \(check.problems.prefix(3).joined(separator: "; "))"
        }
        if check.wellFormed {
            summary += "; producer \(check.fields.contentProducer ?? "") (\(check.fields.produceID ?? ""))"
            if check.fields.contentPropagator != check.fields.contentProducer || check.fields.propagateID != check.fields.produceID {
                summary += ", propagated by \(check.fields.contentPropagator ?? "") (\(check.fields.propagateID ?? ""))"
            }
        }
        var layer = InspectionReport.Layer(kind: .aigcMetadata, place: place, tier: tier, summary: summary, timed: timed, ranges: ranges)
        layer.key = key
        layer.value = String(value.prefix(4096))
        layer.wellFormed = check.wellFormed
        layer.problems = check.problems
        layer.aigc = check.fields
        return layer
    }

    /// Timed ID3 repeats inside marked content (labelcast: every `ProvenanceWriter.id3Interval`
    /// seconds), so tags closer than `InputMarkingWatch.id3Hold` belong to one range, which
    /// lasts one interval past its last tag. An onMetaData update holds to the end.
    static func ranges(times: [Double], placeIsUpdate: Bool, duration: Double) -> [InspectionReport.TimeRange] {
        guard let first = times.first else { return [] }
        if placeIsUpdate { return [InspectionReport.TimeRange(start: first, end: max(first, duration))] }
        var out: [InspectionReport.TimeRange] = []
        var start = first, last = first
        for t in times.sorted().dropFirst() {
            if t - last > InputMarkingWatch.id3Hold {
                out.append(InspectionReport.TimeRange(start: start, end: min(max(duration, last), last + ProvenanceWriter.id3Interval)))
                start = t
            }
            last = t
        }
        out.append(InspectionReport.TimeRange(start: start, end: min(max(duration, last), last + ProvenanceWriter.id3Interval)))
        return out
    }

    func watermarkLayers(_ d: DetectionReport) -> [InspectionReport.Layer] {
        var layers: [InspectionReport.Layer] = []
        for (modality, kind, z, threshold) in [("audio", InspectionReport.Layer.Kind.audioWatermark, d.syncZ, WatermarkDetector.presenceThreshold),
                                               ("video", .videoWatermark, d.videoSyncZ, VideoMarkDetector.presenceThreshold)] {
            let segments = d.segments.filter { $0.modality == modality }
            let place = modality == "audio" ? "audio watermark (AudioMark)" : "video watermark (VideoMark)"
            var layer: InspectionReport.Layer
            if !segments.isEmpty {
                let ids = Set(segments.map(\.payload)).sorted()
                let total = segments.reduce(0.0) { $0 + ($1.end - $1.start) }
                layer = InspectionReport.Layer(kind: kind, place: place, tier: .possibly,
                                               summary: String(format: "payload %@ in %d range%@ (%.1f s)", ids.joined(separator: ", "), segments.count,
                                                               segments.count == 1 ? "" : "s", total),
                                               timed: true, ranges: segments.map {
                                                   InspectionReport.TimeRange(start: $0.start, end: $0.end, payload: $0.payload, confidence: $0.confidence, verified: $0.verified)
                                               })
            } else if let z, z >= threshold {
                layer = InspectionReport.Layer(kind: kind, place: place, tier: .suspected,
                                               summary: String(format: "this key's sync pattern is present (z %.1f, threshold %.0f) but no payload was read", z, threshold),
                                               timed: false)
            } else {
                continue
            }
            layer.syncZ = z
            layers.append(layer)
        }
        return layers
    }

    /// Chapters titled with a label text: labelcast writes one per synthetic segment, titled
    /// with the visible label ("AI生成 · AI-generated"); other chapters are not labels.
    func chapterLayers(_ chapters: [ContainerMarkingScan.Chapter]) -> [InspectionReport.Layer] {
        let labeled = chapters.filter { Self.isLabelText($0.title) }
        guard !labeled.isEmpty else { return [] }
        return [InspectionReport.Layer(kind: .chapters, place: "chapters", tier: .suspected,
                                       summary: "\(labeled.count) chapter\(labeled.count == 1 ? "" : "s") titled as AI-generated",
                                       timed: true, ranges: labeled.map { InspectionReport.TimeRange(start: $0.start, end: $0.end, title: $0.title) })]
    }

    /// LABELS.md: a label text holds "AI" or "人工智能" with "生成"/"合成", or "AI-generated".
    static func isLabelText(_ title: String) -> Bool {
        let ai = title.contains("AI") || title.contains("人工智能")
        return (ai && (title.contains("生成") || title.contains("合成"))) || title.lowercased().contains("ai-generated")
            || title.lowercased().contains("ai generated")
    }

    /// labelcast's `--segments-out` JSON: given, or `NAME.segments.json` beside the file.
    func sidecarLayer(path: String?, notes: inout [String]) throws -> InspectionReport.Layer? {
        var candidates: [String] = []
        if let segmentsSidecar {
            candidates = [segmentsSidecar]
        } else if let path {
            let base = (path as NSString).deletingPathExtension
            candidates = [base + ".segments.json", path + ".segments.json"]
        }
        for candidate in candidates {
            guard let data = FileManager.default.contents(atPath: candidate) else {
                if segmentsSidecar != nil { throw LabelcastError("--segments '\(candidate)' cannot be read: give the JSON file `labelcast run --segments-out` wrote") }
                continue
            }
            guard let sidecar = try? JSONDecoder().decode(SegmentSidecar.self, from: data) else {
                if segmentsSidecar != nil { throw LabelcastError("--segments '\(candidate)' is not a labelcast segments sidecar (JSON with version, segments)") }
                notes.append("'\((candidate as NSString).lastPathComponent)' is not a labelcast segments sidecar: ignored")
                continue
            }
            let name = (candidate as NSString).lastPathComponent
            guard !sidecar.segments.isEmpty else {
                notes.append("the segments sidecar '\(name)' lists no synthetic segment")
                return nil
            }
            return InspectionReport.Layer(kind: .segmentsSidecar, place: "segments sidecar \(name)", tier: .suspected,
                                          summary: "\(sidecar.segments.count) synthetic segment\(sidecar.segments.count == 1 ? "" : "s") listed (unsigned, beside the file)",
                                          timed: true, ranges: sidecar.segments.map { InspectionReport.TimeRange(start: $0.start, end: $0.end) })
        }
        return nil
    }
}
