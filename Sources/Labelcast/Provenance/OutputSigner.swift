import C2PA
import CFFmpeg
import Foundation
import Logging
import MediaIO
import Synchronization

/// Signs a file output with a C2PA manifest (LABELS.md, "Signed provenance") once it is
/// complete, before it is renamed into place: a run that fails leaves neither a file nor a
/// manifest behind, and a file under the final name is always signed.
///
/// A container with no C2PA embedding (MPEG-TS, Matroska, WebM, FLV, …) gets a sidecar
/// manifest store instead, `NAME.c2pa` beside the file (C2PA's sidecar naming), hard-bound
/// by `c2pa.hash.data` over all of the file's bytes; a notice says so at start-up.
///
/// HLS with fMP4 segments, DASH and low-latency CMAF are signed per rendition
/// (`SegmentSigner`): each init segment carries a manifest whose Merkle map covers every
/// media segment of its rendition. HLS with MPEG-TS segments is refused (TS cannot carry C2PA).
///
/// `init` runs before any media work: it decides whether the output can carry a manifest,
/// loads the reference implementation and checks the certificate and key with a probe
/// signature, so bad credentials fail the run at once (exit 2) with nothing written.
/// `sign` runs once, on the thread that finishes the output.
final class OutputSigner: @unchecked Sendable {
    let settings: C2PASettings
    /// The MIME type the output is signed as.
    let format: String
    /// Where the manifest store goes when the container cannot carry it; nil = embedded.
    let sidecarPath: String?
    private let signer: C2PASigner
    private let job: LabelJob
    private let logger: Logger
    private let checkMillis: Double
    /// Set by `sign`.
    private(set) var report: C2PAReport?
    /// For an HLS-fMP4 or DASH output: the segments' hashes and the init segments to sign.
    let segments: SegmentSigner?
    /// The run's telemetry, for the `c2pa` span (set by `LabelRunner` before the run).
    var telemetry: RunTelemetry?

    /// MIME types of containers signed with a sidecar, by muxer name.
    static let sidecarFormats: [String: String] = [
        "mpegts": "video/mp2t", "matroska": "video/x-matroska", "webm": "video/webm", "flv": "video/x-flv",
        "ogg": "audio/ogg", "adts": "audio/aac", "nut": "video/x-nut",
    ]

    /// Output containers with a C2PA embedding the reference implementation writes, by
    /// libavformat muxer name. BMFF (MP4/MOV/M4A) gets `c2pa.hash.bmff.v3`.
    static let embeddable: [String: String] = [
        "mp4": "video/mp4", "mov": "video/quicktime", "ipod": "audio/mp4",
        "mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "avi": "video/x-msvideo",
    ]

    init(job: LabelJob, settings: C2PASettings, logger: Logger) throws {
        self.job = job
        self.settings = settings
        self.logger = logger
        let output = Redaction.url(job.output)
        if settings.certificatePath.isEmpty || settings.keyPath.isEmpty {
            throw LabelcastError(settings.certificatePath.isEmpty ? "--c2pa-key given without --c2pa-cert: give both (the PEM certificate chain and its private key)"
                                                                  : "--c2pa-cert given without --c2pa-key: give both (the PEM certificate chain and its private key)")
        }
        guard job.output != "-", !job.output.contains("://"), !job.output.hasPrefix("pipe:") else {
            throw LabelcastError("--c2pa-cert: output '\(output)' is a stream, and C2PA signing here is for files: write an MP4/MOV/M4A file or an HLS-fMP4/DASH folder, or leave out --c2pa-cert/--c2pa-key")
        }
        var st = stat()
        if stat(job.output, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            throw LabelcastError("--c2pa-cert: output '\(output)' is not a regular file (a device or pipe cannot be signed after it is written): write to a file")
        }
        let muxerName = av_guess_format(job.outputFormat, job.output, nil).map { String(cString: $0.pointee.name) }
        guard let muxerName else {
            throw LabelcastError("cannot tell the container from '\(output)': add -f FORMAT (mp4, mov) to sign it")
        }
        // Said once the credentials passed, so a run that fails at once prints only its error.
        var notice: String?
        var segments: SegmentSigner? = nil
        if let mime = Self.embeddable[muxerName] {
            format = mime
            sidecarPath = nil
        } else if muxerName == "hls" || muxerName == "dash" {
            let type = job.muxerOptions.last(where: { $0.key == "hls_segment_type" })?.value.lowercased()
            if muxerName == "hls", type != "fmp4", type != "1" {
                throw LabelcastError("output '\(output)' is HLS with MPEG-TS segments, which cannot carry a C2PA manifest: add --muxer-opt hls_segment_type=fmp4 (signed per rendition), or leave out --c2pa-cert/--c2pa-key")
            }
            format = "video/mp4"
            sidecarPath = nil
            segments = SegmentSigner()
        } else if ["segment", "stream_segment", "ssegment", "image2", "tee", "fifo"].contains(muxerName) {
            throw LabelcastError("output '\(output)' is segmented or multiple (\(muxerName)), which labelcast cannot sign yet: write one MP4, MOV or M4A file to sign, or leave out --c2pa-cert/--c2pa-key")
        } else {
            format = Self.sidecarFormats[muxerName] ?? "application/octet-stream"
            let ext = (job.output as NSString).pathExtension
            let sidecar = (ext.isEmpty ? job.output : (job.output as NSString).deletingPathExtension) + ".c2pa"
            sidecarPath = sidecar
            let why = muxerName == "mpegts" ? "MPEG-TS cannot carry a C2PA manifest" : "the \(muxerName) container has no C2PA embedding"
            notice = "C2PA: \(why): the signed manifest goes beside the output, in '\(sidecar)' (hard-bound to the file's bytes); write MP4, MOV or M4A to embed it"
        }
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let credentials = try SigningCredentials(certificatePath: settings.certificatePath, keyPath: settings.keyPath)
            if let tsa = settings.timestampURL {
                Redaction.register(url: tsa)
                guard let u = URL(string: tsa), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), u.host?.isEmpty == false else {
                    throw LabelcastError("--c2pa-tsa '\(Redaction.url(tsa))' is not an http(s):// URL of an RFC 3161 time-stamping authority")
                }
            }
            signer = try C2PASigner(credentials: credentials, timestampURL: settings.timestampURL)
        } catch let e as C2PAError {
            throw LabelcastError(Redaction.text(e.message))
        }
        checkMillis = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        self.segments = segments
        if let notice { logger.notice("\(notice)") }
        let stamped = settings.timestampURL.map { ", time-stamped by \(Redaction.url($0))" } ?? ""
        logger.info("C2PA: signing with \(settings.certificatePath) (\(signer.credentials.algorithm.rawValue.uppercased()), \(signer.libraryVersion))\(stamped); credentials checked in \(String(format: "%.0f", checkMillis)) ms")
    }

    /// For an HLS-fMP4/DASH output: hashes each media segment as the muxer finishes it, after
    /// the AIGC marking (`SegmentMarking.attach` calls this once it installed its own step).
    /// Live and `--realtime` runs publish segments as they go: there each init segment is also
    /// re-signed after each media segment (off the mux queue, coalesced), so a verifier that
    /// fetches it again validates every segment written until then.
    func attach(to output: SegmentedOutput, provenance: ProvenanceWriter) {
        guard let segments else { return }
        let marking = output.transform
        let live = job.inputIsLive || job.realtime
        segments.onSegmentHashed = { [weak self] micros in self?.telemetry?.recordC2PA("segment_hash", micros: micros) }
        output.transform = { [weak self, weak provenance] file in
            try marking?(&file)
            let started = DispatchTime.now().uptimeNanoseconds
            try segments.process(&file)
            if file.kind == .mediaSegment {
                self?.telemetry?.recordC2PA("segment_mux", micros: Double(DispatchTime.now().uptimeNanoseconds - started) / 1000)
            }
            if live, file.kind == .mediaSegment, let self, let provenance {
                self.requestLiveSigning(ranges: provenance.writtenSyntheticRanges, aigcValue: provenance.markingValue, mediaEnd: segments.mediaEnd)
            }
        }
    }

    /// `SegmentMarking` rewrote an init segment (AIGC tag added after it was written).
    func initSegmentRewritten(path: String, bytes: [UInt8]) {
        segments?.initRewritten(path: path, bytes: bytes)
    }

    /// Signs the complete file at `path` in place: the signed copy is written beside it and
    /// renamed over it. On failure the signed copy is removed and the error thrown (the
    /// caller then removes `path` too).
    /// `markedLanes`: the lanes whose written packets carry a label (video: the visible
    /// label; audio: the watermark, or only the cue with `--no-watermark`).
    func sign(path: String, ranges: [(start: Double, end: Double)], wholeStream: Bool, aigcValue: String?, markedLanes: Set<Lane>) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        // Live re-signing still running finishes first: the last signature is this one.
        liveQueue.sync {}
        let (manifest, ingredient, hasManifest) = manifest(ranges: ranges, wholeStream: wholeStream, aigcValue: aigcValue, markedLanes: markedLanes)
        if let segments {
            // `path` is the playlist (or MPD) under its temporary name: the init segments are signed.
            let outcome: SegmentSigner.Outcome
            do {
                outcome = try segments.signAll(signer: signer, definition: { title, binding in
                    var m = manifest
                    m.title = title
                    m.hardBinding = binding
                    return m.definitionJSON
                }, ingredient: ingredient)
            } catch let e as C2PAError {
                throw LabelcastError("C2PA signing of '\(Redaction.url(job.output))' failed: \(e.message)")
            }
            let millis = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            telemetry?.recordC2PA("init_sign", micros: millis * 1000)
            let live = liveStats.withLock { $0 }
            report = C2PAReport(mode: "segmented", format: format, algorithm: signer.credentials.algorithm.rawValue,
                                manifestBytes: outcome.manifestBytes, signMillis: millis, checkMillis: checkMillis, sidecar: nil,
                                parentManifestKept: hasManifest, library: signer.libraryVersion,
                                initSegments: outcome.initSegments, fragments: outcome.fragments,
                                fragmentHashMicrosMean: outcome.fragmentMicrosMean, fragmentHashMicrosMax: outcome.fragmentMicrosMax,
                                fragmentCPUMicrosMean: outcome.fragmentCPUMicrosMean, fragmentCPUMicrosMax: outcome.fragmentCPUMicrosMax,
                                segmentHashMicrosMean: outcome.hashMicrosMean, segmentHashMicrosMax: outcome.hashMicrosMax,
                                liveResignings: live.count, liveResignMillisMax: live.count > 0 ? live.maxMillis : nil)
            logger.notice("C2PA: signed \(Redaction.url(job.output)): \(outcome.initSegments) init segment(s) binding \(outcome.fragments) media segment(s) (\(signer.credentials.algorithm.rawValue.uppercased()), manifest \(outcome.manifestBytes) bytes, \(String(format: "%.0f", millis)) ms; per media segment \(String(format: "%.0f", outcome.fragmentMicrosMean)) µs mean, \(String(format: "%.0f", outcome.fragmentMicrosMax)) µs max on the mux queue, SHA-256 \(String(format: "%.0f", outcome.hashMicrosMean)) µs mean off it\(live.count > 0 ? "; re-signed \(live.count) time(s) while live, at most \(String(format: "%.0f", live.maxMillis)) ms" : ""))\(hasManifest ? "; the input's manifest is kept as parent ingredient" : "")")
            return
        }
        let signed = (sidecarPath ?? path) + ".c2pa-signing"
        let store: [UInt8]
        do {
            if let sidecarPath {
                store = try signer.signSidecar(asset: path, definition: manifest.definitionJSON, ingredient: ingredient)
                guard FileManager.default.createFile(atPath: signed, contents: Data(store)) else {
                    throw C2PAError(.io, "'\(sidecarPath)' cannot be written: check the folder's permissions")
                }
                guard rename(signed, sidecarPath) == 0 else {
                    throw C2PAError(.io, "'\(sidecarPath)' cannot be put in place: \(String(cString: strerror(errno)))")
                }
            } else {
                store = try signer.sign(source: path, destination: signed, format: format, definition: manifest.definitionJSON, ingredient: ingredient)
                guard rename(signed, path) == 0 else {
                    throw C2PAError(.io, "the signed output cannot be put in place: \(String(cString: strerror(errno)))")
                }
            }
        } catch let e as C2PAError {
            unlink(signed)
            throw LabelcastError("C2PA signing of '\(Redaction.url(job.output))' failed: \(e.message)")
        }
        let millis = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        report = C2PAReport(mode: sidecarPath == nil ? "embedded" : "sidecar", format: format, algorithm: signer.credentials.algorithm.rawValue,
                            manifestBytes: store.count, signMillis: millis, checkMillis: checkMillis, sidecar: sidecarPath.map(Redaction.url),
                            parentManifestKept: hasManifest, library: signer.libraryVersion)
        logger.notice("C2PA: signed \(Redaction.url(job.output))\(sidecarPath.map { ", manifest in '\($0)'" } ?? "") (\(signer.credentials.algorithm.rawValue.uppercased()), manifest \(store.count) bytes, \(String(format: "%.0f", millis)) ms)\(hasManifest ? "; the input's manifest is kept as parent ingredient" : "")")
    }

    /// Whether the input file carries its own manifest, asked once (live re-signing asks often).
    private lazy var inputHasManifest: Bool = {
        guard let inputFile = Self.isLocalFile(job.input) ? job.input : nil, let inputFormat = Self.mime(forPath: job.input) else { return false }
        do {
            return try C2PAReader.manifestStoreJSON(path: inputFile, format: inputFormat) != nil
        } catch let e as C2PAError {
            logger.warning("C2PA: \(e.message); the input is named as ingredient without its manifest")
            return false
        } catch {
            return false
        }
    }()

    /// The manifest for what was written, the input as ingredient (when it is a file the
    /// library can read), and whether the input's own manifest is kept.
    private func manifest(ranges: [(start: Double, end: Double)], wholeStream: Bool, aigcValue: String?,
                          markedLanes: Set<Lane>) -> (C2PAManifest, (json: String, format: String, path: String)?, Bool) {
        let inputFile = Self.isLocalFile(job.input) ? job.input : nil
        let inputFormat = Self.mime(forPath: job.input)
        let hasManifest = inputHasManifest
        let synthetic = !ranges.isEmpty || wholeStream
        let manifest = C2PAManifest(
            title: (job.output as NSString).lastPathComponent, format: format, version: settings.softwareVersion,
            ranges: ranges, wholeStream: wholeStream, aigcValue: aigcValue,
            overlayText: markedLanes.contains(.video) ? job.overlay?.text : nil,
            watermarkPayloadID: synthetic && markedLanes.contains(.audio) ? job.watermark?.payloadID : nil,
            inputTitle: inputFile.map { ($0 as NSString).lastPathComponent } ?? Redaction.url(job.input),
            inputFormat: inputFormat ?? "application/octet-stream",
            inputFile: inputFormat != nil ? inputFile : nil, inputHasManifest: hasManifest)
        let ingredient = manifest.hasParent ? manifest.inputFile.map { (manifest.ingredientJSON, manifest.inputFormat, $0) } : nil
        return (manifest, ingredient, hasManifest)
    }

    // MARK: live segmented outputs

    /// Re-signing of the init segments while a live (or `--realtime`) run writes segments:
    /// off the mux queue, one at a time, coalesced (a request while one runs is served by
    /// the next run).
    private let liveQueue = DispatchQueue(label: "labelcast.c2pa.live-segments")
    private let livePending = NSLock()
    private var liveRequested = false
    private let liveStats = Mutex(LiveStats())
    private var warnedLiveFailure = false

    struct LiveStats {
        var count = 0
        var maxMillis = 0.0
    }

    /// Called on the mux queue after a media segment was hashed: the manifest's content is
    /// taken now (the provenance writer is the mux queue's), the signing happens later.
    private func requestLiveSigning(ranges: [(start: Double, end: Double?)], aigcValue: String?, mediaEnd: Double) {
        let closed = ranges.map { (start: $0.start, end: $0.end ?? max($0.start, mediaEnd)) }
        let whole = ranges.count == 1 && ranges[0].start <= 1e-3 && ranges[0].end == nil
        var lanes: Set<Lane> = []
        if job.overlay != nil { lanes.insert(.video) }
        if job.watermark != nil { lanes.insert(.audio) }
        let (manifest, ingredient, _) = manifest(ranges: whole ? [] : closed, wholeStream: whole, aigcValue: aigcValue, markedLanes: lanes)
        let pending: Bool = livePending.withLock {
            let was = liveRequested
            liveRequested = true
            return was
        }
        latestLiveManifest.withLock { $0 = LiveManifest(manifest: manifest, ingredient: ingredient) }
        guard !pending else { return }
        liveQueue.async { [self] in
            livePending.withLock { liveRequested = false }
            guard let segments, let job = latestLiveManifest.withLock({ $0 }) else { return }
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                _ = try segments.signAll(signer: signer, definition: { title, binding in
                    var m = job.manifest
                    m.title = title
                    m.hardBinding = binding
                    return m.definitionJSON
                }, ingredient: job.ingredient)
                let millis = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
                liveStats.withLock { $0.count += 1; $0.maxMillis = max($0.maxMillis, millis) }
                telemetry?.recordC2PA("live_resign", micros: millis * 1000)
                logger.debug("C2PA: init segment(s) re-signed in \(String(format: "%.0f", millis)) ms")
            } catch {
                if !warnedLiveFailure {
                    warnedLiveFailure = true
                    logger.warning("C2PA: re-signing the init segments while live failed (\(error)); they are signed again at the end of the run")
                }
            }
        }
    }

    private struct LiveManifest: @unchecked Sendable {
        var manifest: C2PAManifest
        var ingredient: (json: String, format: String, path: String)?
    }

    private let latestLiveManifest = Mutex<LiveManifest?>(nil)

    static func isLocalFile(_ url: String) -> Bool {
        url != "-" && !url.contains("://") && !url.hasPrefix("pipe:") && FileManager.default.fileExists(atPath: url)
    }

    /// The MIME type the reference implementation knows a file by, from its extension.
    static func mime(forPath path: String) -> String? {
        switch (path as NSString).pathExtension.lowercased() {
        case "mp4", "m4v": return "video/mp4"
        case "mov": return "video/quicktime"
        case "m4a": return "audio/mp4"
        case "mp3": return "audio/mpeg"
        case "wav": return "audio/wav"
        case "flac": return "audio/flac"
        case "avi": return "video/x-msvideo"
        default: return nil
        }
    }
}
