import CFFmpeg
import AudioMark
import Foundation
import Logging
import MediaIO
import Overlay
import Synchronization

/// A run that could not start or could not finish, in words a user can act on.
public struct LabelcastError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Live numbers for a progress line.
public struct ProgressSnapshot: Sendable {
    public var mediaSeconds: Double
    public var wallSeconds: Double
    public var durationSeconds: Double?
    public var counts: [Lane: FrameAccounting.LaneCounts]
    public var queueDepths: [String: Int]
    /// End-to-end latency p99 over the last 5-10 s, in microseconds.
    public var recentLatencyP99Micros: UInt64? = nil
    public var speed: Double { wallSeconds > 0 ? mediaSeconds / wallSeconds : 0 }
}

/// Builds and runs the pipeline for one job:
///
///     demux ─┬─ video: decode → process (label) → encode ─┬─ mux → output
///            └─ audio: decode → resample → process (mark) → encode ─┘
///
/// Each box is a `Stage` on its own serial queue; lanes run in parallel; end of input,
/// `cancel()` and a fatal error all take the same path: drain, flush encoders, write trailer.
final class PipelineRunner: SwitchClock, @unchecked Sendable {
    let job: LabelJob
    let logger: Logger
    let inputInterrupter: IOInterrupter
    let outputInterrupter = IOInterrupter()
    private let cancelled = Atomic<Bool>(false)
    private let startedAt = Date()
    private let demuxQueue = DispatchQueue(label: "labelcast.demux", qos: .userInitiated)

    private var muxer: Muxer?
    private var context: PipelineContext?
    private var decodeStages: [Int: DecodeStage] = [:]
    /// The encoders in output stream order (to rebuild a live output that dropped).
    /// Adds the output's streams to a muxer, in order: for a live output reopened after a drop.
    private var outputStreams: [(Muxer) throws -> Void] = []
    /// Copied lanes by input stream index.
    private var copyLanes: [Int: CopyLane] = [:]
    private var lanes: [(Lane, String, String, [any StageDepth])] = []
    private var mux: MuxStage?
    private let muxedSeconds = Atomic<UInt64>(0)
    /// `--audit-log`, when given.
    var audit: AuditLog?
    /// `--c2pa-cert`/`--c2pa-key`, checked before the run: signs the finished file output.
    var outputSigner: OutputSigner?
    /// Told the Timeline once the input is open (the live control API attaches here).
    var onTimeline: (@Sendable (SyntheticTimeline) -> Void)?
    /// Per lane, whether the frames written last were labeled (mux queue only): segment edges.
    private var labeledNow: [Lane: Bool] = [:]
    /// Called on the mux queue for every written frame, after telemetry has it.
    var onFrameWritten: (@Sendable (FrameTrace) -> Void)?
    let telemetry: RunTelemetry

    init(job: LabelJob, logger: Logger, telemetry: RunTelemetry) {
        self.job = job
        self.logger = logger
        self.telemetry = telemetry
        inputInterrupter = IOInterrupter(timeout: job.inputIsNetwork ? job.readTimeout : nil)
    }

    /// Stops reading input; the pipeline then drains and finalizes the output as at end of input.
    func cancel() {
        cancelled.store(true, ordering: .relaxed)
        inputInterrupter.cancel()
    }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// What `progress()` shows, published by the run thread under a lock: the progress line and
    /// the control API read it from their own threads while the run sets up or reconnects.
    private struct Observed: @unchecked Sendable {
        var duration: Double?
        var accounting: FrameAccounting?
        var stages: [any StageDepth] = []
    }
    private let observed = Mutex<Observed>(Observed())

    func progress() -> ProgressSnapshot {
        let o = observed.withLock { $0 }
        return ProgressSnapshot(mediaSeconds: Double(muxedSeconds.load(ordering: .relaxed)) / 1000,
                                wallSeconds: Date().timeIntervalSince(startedAt),
                                durationSeconds: o.duration,
                                counts: o.accounting?.snapshot() ?? [:],
                                queueDepths: Dictionary(o.stages.map { ($0.stageName, $0.currentDepth) }, uniquingKeysWith: max),
                                recentLatencyP99Micros: telemetry.recentP99Micros())
    }

    /// Runs the job to the end. Blocks the calling thread (the async API wraps it).
    func run() throws -> RunReport {
        let displayIn = Redaction.url(job.input)
        let displayOut = Redaction.url(job.output)
        if !job.inputIsLive, job.input != "-", !job.input.contains("://"), !FileManager.default.fileExists(atPath: job.input) {
            throw LabelcastError("input '\(displayIn)' does not exist: check the path")
        }
        for (role, url, display) in [("input", job.input, displayIn), ("output", job.output, displayOut)] {
            if let scheme = Self.schemeMissingHost(url) {
                throw LabelcastError("\(role) '\(display)' names no host: give one, e.g. \(scheme)://HOST:PORT/…")
            }
        }
        let demuxer: Demuxer
        // A stop asked for before the run began (a signal while starting) opens nothing.
        let interruptedBeforeInput = LabelcastError("interrupted before the input '\(displayIn)' opened")
        if isCancelled { throw interruptedBeforeInput }
        do { demuxer = try openInputWaiting { try openInput() } } catch let e as MediaError {
            if isCancelled { throw interruptedBeforeInput }
            throw LabelcastError(Self.explainOpen(e, url: displayIn))
        }
        let duration = demuxer.durationSeconds
        observed.withLock { $0.duration = duration }
        // Open the output first: which streams it can take decides the lanes.
        let muxer: Muxer
        do {
            // A live HLS/DASH playlist is written in place, as players read it while it grows.
            muxer = try Muxer(url: job.output, format: job.outputFormat, displayName: displayOut, interrupter: outputInterrupter,
                              inPlace: job.inputIsLive && Muxer.isSegmented(url: job.output, format: job.outputFormat))
        } catch let e as MediaError {
            throw LabelcastError("output '\(displayOut)': \(e.message)")
        }
        self.muxer = muxer
        // HLS TS segments written to a folder pass through SegmentMarking, which carries SCTE-35.
        let fmp4Segments = ["fmp4", "1"].contains(job.muxerOptions.last { $0.key == "hls_segment_type" }?.value.lowercased() ?? "")
        muxer.segmentsCarrySCTE35 = muxer.formatName == "hls" && Muxer.isFilePath(job.output) && !fmp4Segments
        // Every input stream a lane: processed (each video, each audio track), copied, or left
        // out with a notice naming it.
        let plan: StreamPlan
        do {
            plan = try StreamPlan.make(demuxer: demuxer, muxer: muxer, maps: job.streamMaps)
        } catch {
            muxer.abort()
            throw error
        }
        for notice in plan.notices { logger.notice("\(notice)") }
        let useVideo = plan.processed.contains { $0.lane.kind == .video }
        let useAudio = plan.processed.contains { $0.lane.kind == .audio }
        guard !plan.processed.isEmpty else {
            muxer.abort()
            let held = demuxer.streams.contains { $0.kind == .video || $0.kind == .audio }
            throw LabelcastError(held ? "output '\(displayOut)' (\(muxer.formatName)) cannot hold any of the input's audio or video streams"
                                      : "input '\(displayIn)' has no audio or video stream labelcast can label")
        }

        do {
            try OutputCodecPolicy(muxer: muxer).checkChosenCodecs(video: useVideo ? job.video : nil, audio: useAudio ? job.audio : nil)
        } catch {
            muxer.abort()
            throw error
        }

        // Media time 0: the first timestamp of the streams we label.
        let starts = plan.processed.compactMap { e -> Double? in
            let s = demuxer.streams[e.input]
            return MediaTime.seconds(s.startTime, s.timeBase)
        }
        let origin = starts.min() ?? demuxer.startSeconds ?? 0

        // Provenance (GB 45438 metadata): reads the input's AIGC tag, which resolves --synthetic auto.
        let c2paDeclaration = inputC2PADeclaration(demuxer: demuxer)
        let provenance = ProvenanceWriter(job: job, inputTags: demuxer.metadata, logger: logger, c2paDeclaration: c2paDeclaration?.summary)
        provenance.signer = outputSigner
        let declaredSource = provenance.inputMarking != nil ? "metadata" : "c2pa"
        let timeline = SyntheticTimeline(mode: provenance.syntheticMode, ranges: job.segments,
                                         source: job.segments.isEmpty && provenance.syntheticMode == .all && job.synthetic == .auto ? declaredSource : "schedule")
        onTimeline?(timeline)
        let context = PipelineContext(timeline: timeline, logger: logger, originSeconds: origin) { [inputInterrupter, outputInterrupter] in
            inputInterrupter.cancel()
            outputInterrupter.cancel()
        }
        self.context = context
        observed.withLock { $0.accounting = context.accounting }
        // --auto-hold: the lanes hold S s of frames so the input-mark detectors decide first (AutoHold).
        if job.autoHold > 0, job.synthetic == .auto, job.segments.isEmpty { autoHold = AutoHold(seconds: job.autoHold, timeline: timeline) }

        let completion = DispatchSemaphore(value: 0)
        // Every lane that will send its end; a cover attachment has none (written with the header).
        let muxStage = MuxStage(muxer: muxer, lanes: Set(plan.entries.filter { $0.treatment != .coverArt }.map(\.lane)),
                                context: context) { completion.signal() }
        muxStage.onWritten = { [unowned self] trace in
            let ms = UInt64(max(0, trace.mediaTime) * 1000)
            if ms > self.muxedSeconds.load(ordering: .relaxed) { self.muxedSeconds.store(ms, ordering: .relaxed) }
            provenance.frameWritten(trace)
            self.telemetry.record(trace)
            self.auditSegmentEdge(trace, timeline: timeline)
            self.onFrameWritten?(trace)
        }
        muxStage.ordersLanes = !(job.inputIsLive || job.realtime)
        muxStage.policy = retryPolicy
        muxStage.outputURL = job.output
        muxStage.onDown = { [telemetry] reason in telemetry.setOutputWaiting(reason) }
        self.mux = muxStage

        var laneInfo: [(Lane, String, String, [any StageDepth])] = []
        do {
            // In input order, so the output's streams keep the input's order.
            for entry in plan.entries {
                switch (entry.treatment, entry.lane.kind) {
                case (.process, .video):
                    let (decode, info) = try buildVideoLane(demuxer: demuxer, index: entry.input, lane: entry.lane, muxer: muxer, mux: muxStage, context: context)
                    decodeStages[entry.input] = decode
                    laneInfo.append(info)
                case (.process, _):
                    let (decode, info) = try buildAudioLane(demuxer: demuxer, index: entry.input, lane: entry.lane, muxer: muxer, mux: muxStage,
                                                            context: context, audioOnly: !useVideo)
                    decodeStages[entry.input] = decode
                    laneInfo.append(info)
                case (.coverArt, _):
                    // An attachment: written with the header, no lane (its one packet is not copied).
                    let input = demuxer.stream(entry.input)
                    let add: (Muxer) throws -> Void = { m in _ = try m.addAttachment(coverArt: input) }
                    try add(muxer)
                    outputStreams.append(add)
                    logger.info("\(StreamPlan.describe(input, index: entry.input)): kept as the \(muxer.formatName) output's cover attachment")
                case (.copy, _), (.convert, _):
                    let input = demuxer.stream(entry.input)
                    var converter: SubtitleTranscoder? = nil
                    if case .convert(let codec) = entry.treatment { converter = try SubtitleTranscoder(stream: input, to: codec) }
                    let add: (Muxer) throws -> Int = { m in try converter.map { try m.addStream(subtitles: $0) } ?? m.addStream(copying: input) }
                    let out = try add(muxer)
                    keepStreamProperties(demuxer: demuxer, input: entry.input, muxer: muxer, output: out, processed: false)
                    outputStreams.append { [unowned self] m in
                        self.keepStreamProperties(demuxer: demuxer, input: entry.input, muxer: m, output: try add(m), processed: false)
                    }
                    let info = demuxer.streams[entry.input]
                    let copy = CopyLane(lane: entry.lane, outputIndex: out, codecName: info.codecName, timeBase: info.timeBase, mux: muxStage,
                                        context: context, converter: converter)
                    copyLanes[entry.input] = copy
                    laneInfo.append((entry.lane, info.codecName, converter?.outputCodecName ?? "copy", [muxStage.stage]))
                    if let converter { logger.info("\(StreamPlan.describe(input, index: entry.input)): converted to \(converter.outputCodecName), the \(muxer.formatName) output's text subtitles") }
                }
            }
            // Sparse copied streams would hold a live output up to 10 s in the interleaver.
            let sparse = plan.copied.contains { $0.lane.kind == .subtitle || $0.lane.kind == .data }
            if sparse && !Muxer.isFilePath(job.output) { muxer.limitInterleaveDelay(microseconds: 500_000) }
            // The container's tags (title, artist, comment, …); the AIGC field is the provenance writer's.
            for (k, v) in StreamPlan.keptFormatTags(demuxer.metadata) { muxer.setMetadata(k, v) }
            provenance.inputChapters = demuxer.chapters.map { (start: $0.start - origin, end: $0.end - origin, title: $0.title) }
            lanes = laneInfo
            observed.withLock { $0.stages = laneInfo.flatMap { $0.3 } }
            var muxOptions: [String: String] = [:]
            if muxer.formatName.contains("mp4") || muxer.formatName == "mov" || muxer.formatName == "ipod" {
                muxOptions["movflags"] = OutputCodecPolicy.movflags(seekable: Muxer.isFilePath(job.output))
            }
            if !Muxer.isFilePath(job.output) { muxOptions["flush_packets"] = "1" }
            // --muxer-opt, and HLS/DASH segment names and markings (SegmentMarking).
            let segmentMarking = try SegmentMarking.attach(to: muxer, job: job, provenance: provenance, logger: logger, options: &muxOptions)
            try provenance.prepare(muxer: muxer, timeline: timeline)
            keepPrograms(demuxer: demuxer, plan: plan, muxer: muxer)
            if provenance.reservedMatroskaTag { muxOptions["write_crc32"] = "0" }  // the tag is patched after the trailer
            // Every stream is there now (labelcast's timed metadata too): the SCTE-35 PIDs can be chosen.
            segmentMarking?.scte35 = muxer.scte35SegmentFilter()
            segmentSCTE35 = segmentMarking?.scte35
            spliceCueSink = segmentMarking
            if !Muxer.isFilePath(job.output) && job.output != "-" {
                // A live output that drops is reopened with the same streams and metadata (on
                // the mux stage's reconnect queue, never holding up the pipeline).
                let makers = outputStreams
                let formatTags = StreamPlan.keptFormatTags(demuxer.metadata)
                let options = muxOptions
                muxStage.reopen = { [job, unowned self] interrupter in
                    let m = try Muxer(url: job.output, format: job.outputFormat, displayName: displayOut, interrupter: interrupter)
                    for make in makers { try make(m) }
                    for (k, v) in formatTags { m.setMetadata(k, v) }
                    try provenance.prepare(muxer: m, timeline: timeline)
                    self.keepPrograms(demuxer: demuxer, plan: plan, muxer: m)
                    if sparse { m.limitInterleaveDelay(microseconds: 500_000) }
                    try m.writeHeader(options: options)
                    return m
                }
            }
            muxStage.onEvent = { [audit] event, fields in audit?.record(event, fields) }
            try writeHeaderWaiting(muxer, options: muxOptions, mux: muxStage)
        } catch let e as MediaError {
            muxer.abort()
            // A stop while connecting to the output interrupts the open: say that, not the
            // I/O error FFmpeg reports for the interrupted call.
            if isCancelled { throw LabelcastError("interrupted before the output '\(displayOut)' opened") }
            throw LabelcastError(Self.explainSetup(e, output: displayOut))
        }

        logger.info("labelcast: \(displayIn) → \(displayOut) (\(muxer.formatName)); synthetic: \(describe(timeline))")
        let eventSink: @Sendable (String, [String: String]) -> Void = { [audit] event, fields in audit?.record(event, fields) }
        onEvent = eventSink
        audit?.record("run_start", [
            "input": displayIn, "output": displayOut, "format": muxer.formatName,
            "synthetic_mode": job.synthetic.rawValue, "resolved_mode": provenance.syntheticMode.rawValue,
            "schedule": timeline.ranges.map(LiveControl.json),
            "overlay": job.overlay.map { ["text": $0.text, "position": $0.position.rawValue, "height": $0.heightFraction,
                                          "timing": $0.timing.description, "image": $0.image?.path ?? NSNull()] as [String: Any] } ?? NSNull(),
            "watermark": job.watermark.map { ["payload_id": String(format: "0x%08X", $0.payloadID), "demo_key": $0.usesDemoKey] as [String: Any] } ?? NSNull(),
        ])
        for warning in job.startupWarnings { logger.warning("\(warning)") }
        if let c2pa = c2paDeclaration, provenance.inputMarking == nil, job.segments.isEmpty {
            audit?.record("marking_found", ["layer": "c2pa", "media_time": "0.000", "evidence": String(c2pa.summary.prefix(512)),
                                            "validation": c2pa.validation, "changed": "true"])
        }

        if job.synthetic == .auto && job.segments.isEmpty {
            markingWatch = InputMarkingWatch(timeline: timeline, clock: autoHold ?? self, offClock: self, declaredAtOpen: provenance.inputMarking != nil,
                                             holdSeconds: autoHold?.seconds ?? 0, logger: logger, adoptMarking: provenance.adoptInputMarking,
                                             event: eventSink)
        }
        // Demux on its own queue; the lanes follow through their stages.
        demuxQueue.async { [self] in demuxLoop(demuxer: demuxer, context: context) }
        completion.wait()

        // One shutdown path for end of input, cancel and failure.
        let output = muxStage.muxer
        self.muxer = output
        if let error = context.error {
            output.abort()
            throw LabelcastError(Self.explainRuntime(error, input: displayIn, output: displayOut))
        }
        do {
            try provenance.finish(writtenSeconds: muxStage.writtenSeconds)  // chapters go in before the trailer
            try output.finish(keepTemporary: true)  // Matroska tag and C2PA signature: beforeRename
            if let scte35 = output.scte35Statistics ?? segmentSCTE35?.statistics { noteSCTE35(scte35) }
            try provenance.writeSidecar()
        } catch {
            output.discard()
            throw LabelcastError(Self.explainRuntime(error, input: displayIn, output: displayOut))
        }
        pendingOutput = output
        let final = report(error: nil)
        auditRunEnd(final)
        return final
    }

    /// The SCTE-35 filter of an HLS output's TS segments (for the end-of-run line).
    private var segmentSCTE35: SCTE35TSFilter?

    /// What became of the input's SCTE-35 cues: a line, and a warning for the cues whose
    /// splice times could not be moved onto the output clock.
    private func noteSCTE35(_ s: SCTE35TSFilter.Statistics) {
        logger.info("SCTE-35: \(s.sections) section\(s.sections == 1 ? "" : "s") written as SCTE 35 sections (stream type 0x86, CUEI), \(s.retimed) moved onto the output clock")
        if s.unadjusted > 0 {
            logger.warning("SCTE-35: \(s.unadjusted) section\(s.unadjusted == 1 ? "" : "s") kept \(s.unadjusted == 1 ? "its" : "their") pts_adjustment unchanged (no timestamp known for it yet, or its CRC_32 was already wrong): its splice times may be off by the output's clock shift")
        }
    }

    /// The finished output, still under its temporary name: `LabelRunner` commits it after the
    /// metrics report is written, so the output is the last thing to appear.
    private var pendingOutput: Muxer?

    /// Renames the finished output into place (the run's last step).
    func commitOutput() throws {
        defer { pendingOutput = nil }
        do { try pendingOutput?.commit() } catch {
            throw LabelcastError(Self.explainRuntime(error, input: Redaction.url(job.input), output: Redaction.url(job.output)))
        }
    }

    /// Removes the finished output instead (something written after it failed).
    func discardOutput() {
        pendingOutput?.discard()
        pendingOutput = nil
    }

    private func auditRunEnd(_ r: RunReport) {
        guard let audit else { return }
        var lanes: [String: Any] = [:]
        for l in r.lanes {
            lanes[l.lane.rawValue] = ["frames_in": l.counts.framesIn, "frames_out": l.counts.framesOut,
                                      "frames_labeled": l.counts.framesLabeled, "dropped": l.counts.dropped]
        }
        audit.record("run_end", ["interrupted": r.interrupted, "error": r.error ?? NSNull(), "media_seconds": LiveControl.round(r.mediaSeconds), "lanes": lanes])
    }

    /// Writes `segment_start`/`segment_end` when a lane's written frames enter or leave a
    /// labeled segment: what actually went out, with the decision's source. A segment is the
    /// run of written frames that are synthetic (on a lane with a labeling layer on) or carry a
    /// label (the minimum display after a short segment): one start and one end per segment,
    /// also when the label's timing shows it only at the start and at reminders inside it
    /// (the EU interval mode), where the frames between reminders go out unlabeled by design.
    /// Mux queue only.
    private func auditSegmentEdge(_ trace: FrameTrace, timeline: SyntheticTimeline) {
        let inSegment = trace.labeled || (trace.synthetic && !job.requiredLayers(trace.lane).isEmpty)
        guard let audit, labeledNow[trace.lane] ?? false != inSegment else { return }
        labeledNow[trace.lane] = inSegment
        var fields: [String: Any] = ["lane": trace.lane.rawValue, "media_time": LiveControl.round(trace.mediaTime)]
        if inSegment {
            // An audio chunk can start just before the boundary it carries.
            let range = timeline.range(at: trace.mediaTime) ?? (trace.lane.kind == .audio ? timeline.range(at: trace.mediaTime + 0.1) : nil)
            fields["source"] = range?.source ?? "minimum-display"
            if trace.lane.kind == .video { fields["applied"] = "overlay" } else {
                fields["applied"] = "watermark"
                if let w = job.watermark { fields["payload_id"] = String(format: "0x%08X", w.payloadID) }
            }
        }
        audit.record(inSegment ? "segment_start" : "segment_end", fields)
    }

    /// The run's report: complete at the end, and as far as it got when the run failed.
    func report(error: String?) -> RunReport {
        let wall = Date().timeIntervalSince(startedAt)
        let counts = context?.accounting.snapshot() ?? [:]
        let media = mux?.writtenSeconds.values.max() ?? Double(muxedSeconds.load(ordering: .relaxed)) / 1000
        var depths: [String: Int] = [:]
        for l in lanes { for s in l.3 { depths[s.stageName] = max(depths[s.stageName] ?? 0, s.highestDepth) } }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return RunReport(input: Redaction.url(job.input), output: Redaction.url(job.output), outputFormat: muxer?.formatName ?? "",
                         mediaSeconds: media, wallSeconds: wall, speed: wall > 0 ? media / wall : 0,
                         lanes: lanes.map { l in
                            RunReport.LaneReport(lane: l.0, codecIn: l.1, codecOut: l.2, counts: counts[l.0] ?? .init(),
                                                 maxQueueDepth: l.3.map(\.highestDepth).max() ?? 0)
                         },
                         syntheticRanges: context?.timeline.ranges ?? job.segments, interrupted: isCancelled,
                         startedAt: formatter.string(from: startedAt), latency: latencySummaries(),
                         queueMaxDepth: depths, c2pa: outputSigner?.report, error: error)
    }

    /// The lanes' spans, and `c2pa` (segmented signing's steps) when there were any.
    private func latencySummaries() -> [String: [String: LatencySummary]] {
        var out = telemetry.latency.summaries()
        let c2pa = telemetry.c2paSummaries()
        if !c2pa.isEmpty { out["c2pa"] = c2pa }
        return out
    }

    private func describe(_ t: SyntheticTimeline) -> String {
        let r = t.ranges
        if r.isEmpty { return "none" }
        if r.count == 1, r[0].start == 0, r[0].end == nil { return "all" }
        return r.map(\.description).joined(separator: ",")
    }

    /// `--synthetic auto` on a file without an AIGC field: a C2PA manifest (embedded, or the
    /// `NAME.c2pa` sidecar) whose actions name an AI digital source type — validated by the
    /// reference implementation; one that fails validation still declares (tier 2) and is
    /// acted on, as labeling what may be synthetic is the safe side. nil otherwise.
    private func inputC2PADeclaration(demuxer: Demuxer) -> (summary: String, validation: String)? {
        guard job.synthetic == .auto, job.segments.isEmpty, AIGCMetadata.find(in: demuxer.metadata) == nil,
              !job.inputIsLive, job.input != "-", FileManager.default.isReadableFile(atPath: job.input) else { return nil }
        var notes: [String] = []
        guard let layer = C2PAInspection.inspect(path: job.input, container: demuxer.formatName, trustPEM: nil, notes: &notes),
              let tier = layer.tier, tier <= .possibly else {
            for n in notes { logger.notice("--synthetic auto: \(n)") }
            return nil
        }
        return (layer.summary, layer.c2pa?.validation ?? "unknown")
    }

    // MARK: lanes

    /// The key whose marks in the input make it synthetic (`--synthetic auto` without a
    /// schedule: the operator's watermark key, when a mark is on to take it from).
    private var inputMarkKey: WatermarkKey? {
        guard job.synthetic == .auto, job.segments.isEmpty else { return nil }
        return (job.watermark ?? job.videoMark)?.key
    }

    /// `--auto-hold`: shared by every processed lane's `HoldStage` (nil: no hold).
    private var autoHold: AutoHold?

    /// The lane's hold between decoding and labeling, with the lane's input-mark detector
    /// (nil without `--auto-hold`).
    private func holdStage(lane: Lane, detector: (any FrameProcessor)?, context: PipelineContext,
                           next: @escaping (StageItem<LaneFrame>) -> Void) -> HoldStage? {
        autoHold.map { HoldStage(lane: lane, hold: $0, detector: detector, context: context, capacity: 16, downstream: next) }
    }

    /// A detector in a lane read the mark: the marking watch decides (any lane's queue).
    private var markFound: @Sendable (String, Double, Double, String) -> Void {
        { [weak self] layer, start, end, evidence in self?.markingWatch?.watermark(layer: layer, start: start, end: end, evidence: evidence) }
    }

    private func buildVideoLane(demuxer: Demuxer, index: Int, lane: Lane, muxer: Muxer, mux: MuxStage,
                                context: PipelineContext) throws -> (DecodeStage, (Lane, String, String, [any StageDepth])) {
        let info = demuxer.streams[index]
        let stream = demuxer.stream(index)
        let decoder = try Decoder(stream: stream, lowDelay: job.inputIsLive || job.realtime)
        let dctx = decoder.context.pointee
        // Codec choice, interlace, HDR and display matrix: VideoOutputPlan.
        var plan = VideoOutputPlan(job: job, stream: stream, decoder: decoder, muxer: muxer)
        for notice in plan.notices { logger.notice("\(notice)") }
        var rate = info.frameRate.isValid ? info.frameRate : Rational(25, 1)
        if rate.double > 240 { rate = Rational(60, 1) }
        let codec = plan.codecName != job.video.codec ? plan.codecName
            : try OutputCodecPolicy(muxer: muxer).videoEncoder(for: job.video, logger: logger)
        plan.codecName = codec
        let codecName = codec
        let supported = Encoder.supportedPixelFormats(codecName: codecName)
        var pixelFormat = supported.isEmpty || supported.contains(dctx.pix_fmt) ? dctx.pix_fmt : (supported.contains(AV_PIX_FMT_YUV420P) ? AV_PIX_FMT_YUV420P : supported[0])
        if let full = Self.fullChromaFormat(for: pixelFormat, width: Int(dctx.width), height: Int(dctx.height),
                                            codecName: codecName, supported: supported) {
            logger.notice("video: \(dctx.width)x\(dctx.height) has an odd side, which \(codecName) cannot encode with subsampled chroma (\(Scaler.name(pixelFormat))): encoding \(Scaler.name(full)), same size")
            pixelFormat = full
        }
        var settings = VideoEncoderSettings(width: Int(dctx.width), height: Int(dctx.height), pixelFormat: pixelFormat,
                                            timeBase: info.timeBase, frameRate: rate)
        settings.codecName = codecName
        settings.gopSize = max(1, Int((job.video.gopSeconds * rate.double).rounded()))
        settings.sampleAspectRatio = Rational(dctx.sample_aspect_ratio)
        settings.colorRange = dctx.color_range
        settings.colorSpace = dctx.colorspace
        settings.colorPrimaries = dctx.color_primaries
        settings.colorTransfer = dctx.color_trc
        if codecName == "libx264" || codecName == "libx265" {
            settings.options["preset"] = job.video.preset
            if let tune = job.video.tune { settings.options["tune"] = tune }
        }
        if let crf = job.video.crf {
            settings.options["crf"] = String(crf)
        } else if let br = job.video.bitRate {
            settings.bitRate = br
        } else if let br = Self.inputVideoBitRate(info: info, demuxer: demuxer), br > 0 {
            settings.bitRate = max(200_000, br)
        } else if codecName == "libx264" || codecName == "libx265" {
            settings.options["crf"] = "23"
        }
        settings.options.merge(OutputCodecPolicy.videoOptions(codec: codecName, crf: job.video.crf, hasBitRate: settings.bitRate > 0)) { mine, _ in mine }
        plan.apply(to: &settings)
        let copy = copyFormat(stream: stream, decoder: decoder, plan: plan, pixelFormat: pixelFormat, muxer: muxer)
        if let copy {
            // Re-encoded stretches decode with the same decoder set-up as the copied ones
            // (profile, level, no B-frames, IDRs kept, distinguishable parameter sets).
            copy.configure(&settings)
            if job.video.crf == nil, job.video.bitRate == nil, settings.bitRate > 0 {
                // At the input's rate these stretches come out below a full transcode's quality
                // (no B-frames, rate control started afresh at each join): measured on a 480x270
                // clip, PSNR-Y 39.6 dB against the full transcode's 40.3; at 1.13x 40.7 dB.
                settings.bitRate = settings.bitRate * 6 / 5
            }
        }
        let globalHeader = muxer.needsGlobalHeader
        let encoder = try Encoder(video: settings, globalHeader: globalHeader)
        if let copy {
            let extradata = CodecExtradata.get(encoder.context)
            if copy.codec == .h264, !extradata.isEmpty { copy.encoderConfig = AVCConfiguration(extradata: extradata) }
        }
        let inputPar = stream.pointee.codecpar!
        let keepCopyParameters: (UnsafeMutablePointer<AVStream>) -> Void = { out in
            guard let copy else { return }
            let par = out.pointee.codecpar!
            CodecExtradata.set(par, copy.outputExtradata)
            par.pointee.profile = inputPar.pointee.profile
            par.pointee.level = inputPar.pointee.level
            par.pointee.video_delay = inputPar.pointee.video_delay
        }
        let outIndex = try muxer.addStream(encoder: encoder)
        try plan.apply(toOutput: muxer.context.pointee.streams[outIndex]!)
        keepCopyParameters(muxer.context.pointee.streams[outIndex]!)
        keepStreamProperties(demuxer: demuxer, input: index, muxer: muxer, output: outIndex, processed: true)
        outputStreams.append { [unowned self] m in
            let i = try m.addStream(encoder: encoder)
            try plan.apply(toOutput: m.context.pointee.streams[i]!)
            keepCopyParameters(m.context.pointee.streams[i]!)
            self.keepStreamProperties(demuxer: demuxer, input: index, muxer: m, output: i, processed: true)
        }
        var format = VideoStreamFormat(width: settings.width, height: settings.height,
                                       pixelFormatName: Scaler.name(dctx.pix_fmt), frameRate: rate.double)
        format.colorTransfer = av_color_transfer_name(dctx.color_trc).map { String(cString: $0) } ?? "unknown"
        format.colorSpace = av_color_space_name(dctx.colorspace).map { String(cString: $0) } ?? "unknown"
        format.rotation = plan.rotation
        var processor: any FrameProcessor
        if let factory = job.videoProcessorFactory {
            processor = try factory(format, context.timeline)
        } else if let style = job.overlay {
            do { processor = try VisibleLabelProcessor(style: style, format: format) } catch let e as OverlayError {
                throw LabelcastError("visible label: \(e.message)")
            }
        } else {
            processor = PassThroughProcessor()
        }
        // The EU profile's start/interval timing leaves synthetic frames between reminders
        // without the label by rule: the gate asks that rule; continuous labels are required
        // on every synthetic frame.
        var overlayRule: (@Sendable (Double) -> Bool)? = nil
        if let label = processor as? VisibleLabelProcessor, label.timing.mode != .continuous { overlayRule = label.requiresLabelOn }
        // The invisible video mark: first, so the visible label is drawn over a marked picture.
        if let mark = job.videoMark {
            processor = ProcessorChain([VideoMarkProcessor(settings: mark), processor])
        }
        // --synthetic auto reads the operator's mark in the input picture, before labelcast marks it
        // (with --auto-hold: as the picture enters the hold).
        let detector: (any FrameProcessor)? = inputMarkKey.flatMap { lane == .video ? InputVideoMarkDetector(key: $0, found: markFound) : nil }
        if let detector, autoHold == nil { processor = ProcessorChain([detector, processor]) }
        let encode = try EncodeStage(lane: lane, encoder: encoder, outputIndex: outIndex, inputTimeBase: info.timeBase,
                                     context: context, mux: mux, capacity: 8, requiredLayers: job.requiredLayers(lane),
                                     overlayRequiredAt: overlayRule)
        mux.whenReconnected { encode.requestKeyframe() }
        if let copy {
            encode.copyFormat = copy
            let fresh = settings
            encode.makeEncoder = { try Encoder(video: fresh, globalHeader: globalHeader) }
        }
        let process = ProcessStage(lane: lane, processor: processor, context: context, capacity: 8,
                                   outputPicture: (settings.width, settings.height, dctx.pix_fmt)) { encode.stage.submit($0) }
        let hold = holdStage(lane: lane, detector: detector, context: context) { process.stage.submit($0) }
        let nominal = MediaTime.rescale(1, from: rate.inverted, to: info.timeBase)
        let decode = DecodeStage(lane: lane, decoder: decoder, timeBase: info.timeBase, nominalDuration: nominal,
                                 context: context, capacity: 32) { hold?.stage.submit($0) ?? process.stage.submit($0) }
        decode.copyFormat = copy
        decode.copyPerPicture = copyPerPicture
        if copy != nil, copyPerPicture {
            let known = job.listen == nil && job.synthetic != .auto
            let mode = job.video.copyDecode ?? (known ? .ahead : .continuous)
            decode.decodeAhead = mode == .ahead
            logger.info("video: copying unlabeled video: the decoder \(mode == .ahead ? "runs only ahead of synthetic stretches" : "runs through copied stretches") (--copy-decode \(mode.rawValue))")
        }
        if copy != nil { logger.info("video: copying unlabeled video (--transcode re-encodes all): GOPs without synthetic frames are copied as they are; the others are re-encoded with \(codecName)") }
        logger.debug("video: \(info.codecName) \(settings.width)x\(settings.height) \(Scaler.name(pixelFormat)) \(rate) fps → \(encoder.codecName), gop \(settings.gopSize)")
        return (decode, (lane, info.codecName, encoder.codecName, ([decode.stage] as [any StageDepth]) + (hold.map { [$0.stage] } ?? []) + [process.stage, encode.stage, mux.stage]))
    }

    /// Live-like runs copy picture by picture (no GOP of delay); files GOP by GOP (no decoding
    /// outside the segments).
    private var copyPerPicture: Bool { job.inputIsLive || job.realtime || job.listen != nil }

    /// `--copy-unlabeled`: the copy format for this video stream, or nil (every frame
    /// re-encoded) with a notice saying why when it was asked for and cannot apply.
    private func copyFormat(stream: UnsafeMutablePointer<AVStream>, decoder: Decoder, plan: VideoOutputPlan,
                            pixelFormat: AVPixelFormat, muxer: Muxer) -> VideoCopyFormat? {
        guard job.video.copy != .never else { return nil }
        if let why = job.copyOffByChoice {
            logger.info("video: every frame is re-encoded (\(why))")
            return nil
        }
        let dctx = decoder.context.pointee
        let perPicture = copyPerPicture
        var reason: String?
        let codec = VideoCopyCodec(dctx.codec_id)
        let annexB = codec.flatMap {
            VideoCopyFormat.outputAnnexB(codec: $0, formatName: muxer.formatName,
                                         hlsSegmentType: job.muxerOptions.last { $0.key == "hls_segment_type" }?.value)
        }
        if codec == nil {
            reason = "the input's video is \(avcodec_get_name(dctx.codec_id).map { String(cString: $0) } ?? "unknown") (H.264 and HEVC only)"
        } else if codec == .hevc, !OutputCodecPolicy(muxer: muxer).takes(AV_CODEC_ID_HEVC) {
            reason = "the \(muxer.formatName) output does not take HEVC"
        } else if plan.codecName != codec!.encoderName {
            reason = "the video encoder is \(plan.codecName) (\(codec!.encoderName) for \(codec!.name) input)"
        } else if annexB == nil {
            reason = codec == .h264 ? "the \(muxer.formatName) output (MP4/MOV, Matroska, FLV, MPEG-TS, HLS and DASH only)"
                : "the \(muxer.formatName) output (MP4/MOV, Matroska, MPEG-TS, HLS and DASH only for HEVC)"
        } else if perPicture && (dctx.has_b_frames > 0 || stream.pointee.codecpar.pointee.video_delay > 0) {
            reason = "the live input reorders pictures (B-frames): a live copy needs a stream without, e.g. x264 -tune zerolatency, x265 bframes=0"
        } else if !perPicture, job.synthetic == .auto, job.segments.isEmpty {
            reason = "--synthetic auto on a file: a GOP is copied or not before the markings inside it are read"
        } else if inputMarkKey != nil {
            reason = "--synthetic auto reads the input's watermark in every frame"
        } else if autoHold != nil {
            reason = "--auto-hold decides each frame as it leaves the hold, after the copy would have"
        } else if plan.isInterlaced {
            reason = "the input is interlaced"
        } else if pixelFormat != dctx.pix_fmt {
            reason = "the output's pixel format differs from the input's"
        }
        if reason == nil, VideoCopyFormat(codec: codec!, stream: stream, outputAnnexB: annexB!) == nil {
            reason = "the input's \(codec == .h264 ? "SPS/PPS" : "VPS/SPS/PPS") cannot be read from its stream header"
        }
        if let reason {
            // Asked for by name, a copy that cannot be is a notice; the default's fallback is not news.
            let line = "video: \(job.video.copy == .always ? "--copy-unlabeled" : "copying unlabeled video") does not apply (\(reason)): every frame is re-encoded"
            if job.video.copy == .always { logger.notice("\(line)") } else { logger.info("\(line)") }
            return nil
        }
        guard let format = VideoCopyFormat(codec: codec!, stream: stream, outputAnnexB: annexB!) else { return nil }
        return format
    }

    private func buildAudioLane(demuxer: Demuxer, index: Int, lane: Lane, muxer: Muxer, mux: MuxStage,
                                context: PipelineContext, audioOnly: Bool) throws -> (DecodeStage, (Lane, String, String, [any StageDepth])) {
        let info = demuxer.streams[index]
        let decoder = try Decoder(stream: demuxer.stream(index))
        let dctx = decoder.context.pointee
        let settings = try OutputCodecPolicy(muxer: muxer).audioEncoder(for: job.audio, input: .init(decoder: dctx), logger: logger)
        let globalHeader = muxer.needsGlobalHeader
        let encoder = try Encoder(audio: settings, globalHeader: globalHeader)
        // An output without video has no picture for the visible label: the profile's audio label goes on.
        var audibleCue = job.provenance.audibleCue
        if audibleCue == nil, audioOnly, let auto = job.provenance.audioOnlyCue {
            audibleCue = auto
            logger.notice("the output carries no video: the audible label (\(auto.kindDescription)\(auto.every.map { ", every \(Int($0)) s" } ?? "")) marks each synthetic segment; --audible-cue off leaves it out")
        }
        let copy = audibleCue != nil ? nil : audioCopyFormat(lane: lane, stream: demuxer.stream(index), decoder: decoder, encoder: encoder, settings: settings)
        if audibleCue != nil { logger.info("\(lane.rawValue): every audio frame is re-encoded (the audible label can play past a segment's end)") }
        let keepCopyParameters: (UnsafeMutablePointer<AVStream>) -> Void = { out in
            // Copied packets decode with the input's AudioSpecificConfig (the re-encoded ones with it too).
            if let copy { CodecExtradata.set(out.pointee.codecpar, copy.inputConfig) }
        }
        let outIndex = try muxer.addStream(encoder: encoder)
        keepCopyParameters(muxer.context.pointee.streams[outIndex]!)
        keepStreamProperties(demuxer: demuxer, input: index, muxer: muxer, output: outIndex, processed: true)
        outputStreams.append { [unowned self] m in
            let i = try m.addStream(encoder: encoder)
            keepCopyParameters(m.context.pointee.streams[i]!)
            self.keepStreamProperties(demuxer: demuxer, input: index, muxer: m, output: i, processed: true)
        }
        let format = AudioStreamFormat(sampleRate: settings.sampleRate, channels: settings.channels)
        var processor: any FrameProcessor = PassThroughProcessor()
        if let factory = job.audioProcessorFactory {
            processor = try factory(format, context.timeline)
        } else if let watermark = job.watermark {
            do { processor = try WatermarkProcessor(settings: watermark, format: format, timeline: context.timeline) } catch {
                throw LabelcastError("audio watermark: \(error)")
            }
        }
        // Audible cue (--audible-cue morse): first, so whatever follows (the watermark) covers it too.
        if let cue = audibleCue {
            processor = ProcessorChain([AudibleCueProcessor(cue: cue, format: format, timeline: context.timeline), processor])
        }
        // --synthetic auto reads the operator's watermark in the input sound, before labelcast's own
        // (with --auto-hold: as the sound enters the hold).
        let detector: (any FrameProcessor)? = inputMarkKey.flatMap { lane == .audio ? InputAudioMarkDetector(key: $0, found: markFound) : nil }
        if let detector, autoHold == nil { processor = ProcessorChain([detector, processor]) }
        let encode = try EncodeStage(lane: lane, encoder: encoder, outputIndex: outIndex, inputTimeBase: info.timeBase,
                                     context: context, mux: mux, capacity: 16, requiredLayers: job.requiredLayers(lane))
        let process = ProcessStage(lane: lane, processor: processor, context: context, capacity: 16) { encode.stage.submit($0) }
        let hold = holdStage(lane: lane, detector: detector, context: context) { process.stage.submit($0) }
        let resample = ResampleStage(lane: lane, outputRate: settings.sampleRate, outputChannels: settings.channels, context: context,
                                     capacity: 16) { hold?.stage.submit($0) ?? process.stage.submit($0) }
        let decode = DecodeStage(lane: lane, decoder: decoder, timeBase: info.timeBase, nominalDuration: 1,
                                 context: context, capacity: 64) { resample.stage.submit($0) }
        if let copy {
            decode.audioCopyConfig = copy.adts ? CodecExtradata.get(demuxer.stream(index).pointee.codecpar) : copy.inputConfig
            decode.audioCopyADTS = copy.adts ? AACConfig(copy.inputConfig) : nil
            encode.audioCopy = copy
            encode.makeEncoder = { try Encoder(audio: settings, globalHeader: globalHeader) }
            logger.info("\(lane.rawValue): copying unlabeled audio (--transcode re-encodes all): AAC packets outside synthetic segments are copied; each synthetic stretch and one frame either side are re-encoded")
        }
        logger.debug("audio: \(info.codecName) \(settings.sampleRate) Hz \(settings.channels) ch → \(encoder.codecName)")
        return (decode, (lane, info.codecName, encoder.codecName, ([decode.stage, resample.stage] as [any StageDepth]) + (hold.map { [$0.stage] } ?? []) + [process.stage, encode.stage]))
    }

    /// Copying unlabeled audio: the copy format for this AAC track, or nil (every frame
    /// re-encoded) with an info line saying why when the job would have copied.
    private func audioCopyFormat(lane: Lane, stream: UnsafeMutablePointer<AVStream>, decoder: Decoder, encoder: Encoder,
                                 settings: AudioEncoderSettings) -> AudioCopyFormat? {
        var reason = job.audioCopyOffByChoice
        if reason == nil {
            if job.audioProcessorFactory != nil { reason = "a custom audio processor labels the lane" }
            else if inputMarkKey != nil { reason = "--synthetic auto reads the input's watermark in every frame" }
            else if autoHold != nil { reason = "--auto-hold decides each frame as it leaves the hold" }
        }
        if reason == nil {
            let dctx = decoder.context.pointee
            let par = stream.pointee.codecpar.pointee
            let (format, why) = AudioCopyFormat.make(
                inputCodec: par.codec_id, inputExtradata: CodecExtradata.get(stream.pointee.codecpar),
                encoderCodec: encoder.codecName, encoderExtradata: CodecExtradata.get(encoder.context),
                inputRate: Int(dctx.sample_rate), inputChannels: Int(dctx.ch_layout.nb_channels), inputProfile: par.profile,
                encoderRate: encoder.sampleRate, encoderChannels: encoder.channels)
            if let format { return format }
            reason = why
        }
        if let reason {
            logger.info("\(lane.rawValue): every audio frame is re-encoded (\(reason))")
        }
        return nil
    }

    /// What an output stream keeps of its input stream: tags (language, title, timecode, …)
    /// and disposition (default, forced, hearing impaired, comment, …).
    private func keepStreamProperties(demuxer: Demuxer, input: Int, muxer: Muxer, output: Int, processed: Bool) {
        muxer.setStreamMetadata(output, StreamPlan.keptStreamTags(demuxer.streamTags(input), processed: processed))
        muxer.setDisposition(output, demuxer.disposition(input))
    }

    /// The input's programs (MPEG-TS services, with their names and ids) over the output's
    /// streams; streams labelcast adds (timed metadata) join every program.
    private func keepPrograms(demuxer: Demuxer, plan: StreamPlan, muxer: Muxer) {
        guard muxer.formatName == "mpegts" else { return }
        // Output stream index of each planned input stream: entries were added in order.
        var outputOf: [Int: Int] = [:]
        for (n, e) in plan.entries.enumerated() { outputOf[e.input] = n }
        let programs = demuxer.programs.map { p in (p.id, p.streams.compactMap { outputOf[$0] }, p.tags) }.filter { !$0.1.isEmpty }
        guard !programs.isEmpty else { return }
        let before = Int(muxer.context.pointee.nb_streams)
        for (id, streams, tags) in programs { muxer.addProgram(id: id, streams: streams, tags: tags) }
        for extra in plan.entries.count..<before { muxer.addToEveryProgram(extra) }
    }

    // MARK: demux

    /// Whether the run has no lane of a kind (lanes are built before the demuxer starts; read
    /// on the demux queue at a reconnect).
    func laneMissing(_ kind: StreamInfo.Kind) -> Bool {
        let lane: Lane.Kind = kind == .video ? .video : .audio
        return !decodeStages.values.contains { $0.lane.kind == lane }
    }

    /// Opens the input with low-latency options for live sources (no input buffering, a small
    /// probe), under the interrupter's read timeout. Live inputs then wait (`LiveProbe`, up to
    /// `--probe-timeout`) for every stream the input declares; one that does not come is said
    /// loudly (`noteProbe`).
    private func openInput(reconnecting: Bool = false) throws -> Demuxer {
        var options: [String: String] = [:]
        if job.inputIsLive {
            // A small probe, but not fflags=nobuffer: that throws away the packets the probe
            // read, the stream's first keyframe among them, and frames would go uncounted.
            options["probesize"] = "500000"
            options["analyzeduration"] = "1000000"
            // onMetaData's codec ids in the metadata: what an RTMP input declares it carries.
            options["flv_full_metadata"] = "1"
        }
        // A listener (SRT mode=listener, UDP) waits for its sender as long as it takes: a
        // timeout would re-arm it, and a caller arriving in between would be refused.
        let untimed = job.inputIsLive && job.reconnect && Self.listens(job.input)
        let demuxer = try Demuxer(url: job.input == "-" ? "pipe:0" : job.input, format: job.inputFormat, options: options,
                                  displayName: Redaction.url(job.input), interrupter: inputInterrupter, untimedOpen: untimed)
        if job.inputIsLive && job.probeTimeout > 0 {
            let outcome = try LiveProbe(timeout: job.probeTimeout).complete(demuxer) { isCancelled }
            noteProbe(outcome, reconnecting: reconnecting)
        }
        return demuxer
    }

    /// Media time (s) just past the newest demuxed packet, over all lanes: where a live switch
    /// takes effect, so both lanes see the same boundary.
    private let newestEnd = Mutex<Double?>(nil)
    var newestMediaTime: Double? { newestEnd.withLock { $0 } }

    /// `SwitchClock`: runs `body` holding the lock under which the demuxer publishes each
    /// packet's end before handing the packet on, so a switch's instant and its application
    /// are one step for the demuxer: every packet published later reaches a lane after the
    /// switch is in force, every packet published earlier ends before the instant.
    func atSwitchInstant<T>(_ body: (Double?) throws -> T) rethrows -> T {
        try newestEnd.withLock { newest in try body(newest) }
    }
    private let reconnectCount = Atomic<Int>(0)
    var inputReconnects: Int { reconnectCount.load(ordering: .relaxed) }
    /// Told about live events (reconnects) for the audit log and the log.
    var onEvent: (@Sendable (String, [String: String]) -> Void)?
    /// `--synthetic auto`: markings that arrive while streaming (demux queue only).
    private var markingWatch: InputMarkingWatch?

    /// HLS and DASH outputs: where the input's SCTE-35 cues go (playlist date ranges, MPD events).
    private var spliceCueSink: SegmentMarking?

    /// An SCTE-35 packet of the input, to the playlist's cues: its splice point in media time
    /// (the command's 33-bit splice time taken against the packet's own timestamp, so a wrap
    /// or a reconnect's shift moves both alike; the packet's time for an immediate splice).
    private func noteSplice(_ packet: Packet, demuxer: Demuxer, shift: Double, context: PipelineContext, into sink: SegmentMarking) {
        guard let st = demuxer.context.pointee.streams[packet.streamIndex], st.pointee.codecpar.pointee.codec_id == AV_CODEC_ID_SCTE_35,
              let data = packet.pointer.pointee.data,
              let section = SpliceInfoSection(Array(UnsafeBufferPointer(start: data, count: Int(packet.pointer.pointee.size)))) else { return }
        let tb = Rational(st.pointee.time_base)
        guard packet.pts != MediaTime.noPTS else {
            sink.noteSplice(section, at: newestMediaTime ?? 0)
            return
        }
        var at = Double(packet.pts) * tb.double + shift - context.originSeconds
        if let ticks = section.command?.spliceTicks {
            let m = SpliceInfoSection.ptsModulus
            let ref = ((MediaTime.rescale(packet.pts, from: tb, to: Rational(1, 90_000)) % m) + m) % m
            var d = ((ticks - ref) % m + m) % m
            if d >= m / 2 { d -= m }
            at += Double(d) / 90_000
        }
        sink.noteSplice(section, at: at)
    }

    private func demuxLoop(demuxer first: Demuxer, context: PipelineContext) {
        var pacingStart: (wall: UInt64, media: Double)? = nil
        let paced = job.realtime && !job.inputIsLive
        var demuxer = first
        // Current connection: stream index → lane, and the shift onto the first connection's clock.
        var routes: [Int: DecodeStage] = decodeStages
        var copies: [Int: CopyLane] = copyLanes
        var shift = 0.0
        // Timestamps that jump back on a live connection that stayed up: re-based (TimestampJumps).
        var jumps = TimestampJumps()
        // Frames the input lost before we saw them (per connection): `lost_upstream`.
        var loss = UpstreamLoss()
        readLoop: while true {
            let result: Demuxer.ReadResult
            var lost: String? = nil
            do { result = try demuxer.read() } catch {
                if !job.inputIsLive || !job.reconnect || isCancelled || context.failed {
                    context.fail(error, stage: "demux")
                    break
                }
                lost = (error as? MediaError)?.message ?? "\(error)"
                result = .endOfInput
            }
            guard case .packet(let packet) = result else {
                if isCancelled || !job.inputIsLive || !job.reconnect || context.failed { break }
                // A live input dropped or stalled: reopen it with capped exponential backoff; the
                // output stays up and media time carries on from where the input stopped.
                telemetry.setInputPhase(.reconnecting)
                // Hang up the lost connection now: `run()` still holds the first demuxer, and an
                // open one would stay subscribed at the server (a ghost player) for the whole run.
                demuxer.closeInput()
                guard let (next, newRoutes, newCopies, newShift) = reconnect(reason: lost ?? "the input ended", context: context) else { break }
                telemetry.setInputWaiting(nil)
                telemetry.setInputPhase(.running)
                demuxer = next
                routes = newRoutes
                copies = newCopies
                shift = newShift
                jumps = TimestampJumps()
                loss.reset()
                markingWatch?.tags(next.metadata, layer: "reconnect", at: nil)
                continue
            }
            if let watch = markingWatch {
                if demuxer.context.pointee.event_flags & Int32(AVFMT_EVENT_FLAG_METADATA_UPDATED) != 0 {
                    demuxer.context.pointee.event_flags &= ~Int32(AVFMT_EVENT_FLAG_METADATA_UPDATED)
                    watch.tags(demuxer.metadata, layer: "onMetaData update", at: newestMediaTime)
                }
                if routes[packet.streamIndex] == nil, let st = demuxer.context.pointee.streams[packet.streamIndex],
                   st.pointee.codecpar.pointee.codec_id == AV_CODEC_ID_TIMED_ID3, let data = packet.pointer.pointee.data {
                    let bytes = Array(UnsafeBufferPointer(start: data, count: Int(packet.pointer.pointee.size)))
                    let tb = Rational(st.pointee.time_base)
                    let at = packet.pts != MediaTime.noPTS ? Double(packet.pts) * tb.double + shift - context.originSeconds : newestMediaTime
                    watch.timedID3(bytes, at: at)
                }
                if let t = newestMediaTime { watch.tick(t) }
            }
            if let sink = spliceCueSink { noteSplice(packet, demuxer: demuxer, shift: shift, context: context, into: sink) }
            let lane = routes[packet.streamIndex], copy = copies[packet.streamIndex]
            guard lane != nil || copy != nil else { continue }
            copy?.noteInputClock(packet, newestMediaTime: newestMediaTime)
            let readAt = FrameTrace.now()
            let tb = demuxer.streams[packet.streamIndex].timeBase
            if job.inputIsLive, let t = MediaTime.seconds(packet.dts != MediaTime.noPTS ? packet.dts : packet.pts, tb) {
                // On this connection's clock: media time + origin - shift.
                let resumeAt = (newestMediaTime ?? 0) + context.originSeconds - shift
                let (offset, jumped) = jumps.offset(stream: packet.streamIndex, time: t, resumeAt: resumeAt)
                if jumped {
                    let at = String(format: "%.3f", newestMediaTime ?? 0)
                    logger.warning("input timestamps went back by \(String(format: "%.3f", resumeAt - t)) s (the source restarted); media time carries on at \(at) s")
                    onEvent?("input_discontinuity", ["media_time": at, "jump": String(format: "%.3f", t - resumeAt)])
                    loss.reset()
                }
                if offset != 0 {
                    let ticks = MediaTime.timestamp(seconds: offset, tb)
                    if packet.pts != MediaTime.noPTS { packet.pts += ticks }
                    if packet.dts != MediaTime.noPTS { packet.dts += ticks }
                }
            }
            if job.inputIsLive, let lane {
                countUpstreamLoss(&loss, packet: packet, demuxer: demuxer, lane: lane.lane, context: context)
            }
            if lane != nil, packet.pts != MediaTime.noPTS {
                // Processed lanes only: a subtitle's long duration says nothing of where the
                // pictures and sound have got to.
                let end = Double(packet.pts + max(0, packet.duration)) * tb.double + shift - context.originSeconds
                newestEnd.withLock { $0 = max($0 ?? end, end) }
                context.noteDemuxed(until: end)
            }
            if paced, packet.dts != MediaTime.noPTS || packet.pts != MediaTime.noPTS {
                // --realtime: hold each packet until its media time comes round on the wall clock.
                        let t = Double(packet.dts != MediaTime.noPTS ? packet.dts : packet.pts) * tb.double
                if let start = pacingStart {
                    let due = start.wall + UInt64(max(0, (t - start.media)) * 1e9)
                    let now = FrameTrace.now()
                    if due > now {
                        if inputInterrupter.isCancelled { break }
                        usleep(UInt32(min(1_000_000, (due - now) / 1000)))
                    }
                } else {
                    pacingStart = (readAt, t)
                }
            }
            if let copy { copy.submit(packet); continue }
            lane?.stage.submit(.data(.packet(ReadPacket(packet: packet, readAt: paced ? FrameTrace.now() : readAt))))
        }
        telemetry.setInputPhase(.ended)
        for stage in decodeStages.values { stage.stage.submit(.end) }
        for copy in copyLanes.values { copy.end() }
    }

    /// Reopens a lost live input until it answers or the run is stopped. Returns the new demuxer,
    /// its stream → lane routes, and the clock shift, after handing each lane its new decoder.
    private func reconnect(reason: String, context: PipelineContext) -> (Demuxer, [Int: DecodeStage], [Int: CopyLane], Double)? {
        let resumeAt = newestMediaTime ?? 0
        logger.warning("input lost (\(reason)); reconnecting to \(Redaction.url(job.input)): \(retryPolicy.describe)")
        onEvent?("input_lost", ["reason": reason, "media_time": String(format: "%.3f", resumeAt)])
        telemetry.setInputWaiting("input \(Redaction.url(job.input)) lost (\(reason)), reconnecting")
        var outage = Outage(policy: retryPolicy)
        // A listener's open is not timed: --reconnect-timeout ends it from outside.
        let gaveUp = Atomic<Bool>(false)
        let bound = DispatchWorkItem { [inputInterrupter] in
            gaveUp.store(true, ordering: .relaxed)
            inputInterrupter.cancel()
        }
        if Self.listens(job.input), let limit = outage.remaining { DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: bound) }
        defer { bound.cancel() }
        var lastError = reason
        while !isCancelled {
            let attempts = outage.attempts + 1
            do {
                let demuxer = try openInput(reconnecting: true)
                var routes: [Int: DecodeStage] = [:]
                var copies: [Int: CopyLane] = [:]
                // The new connection's streams take the lanes of the same kind and rank.
                let output = muxer!
                let plan = try StreamPlan.make(demuxer: demuxer, muxer: output, maps: job.streamMaps)
                let starts = plan.processed.compactMap { MediaTime.seconds(demuxer.streams[$0.input].startTime, demuxer.streams[$0.input].timeBase) }
                let newOrigin = starts.min() ?? 0
                // New timestamps t map to t + shift on the first connection's clock.
                let shift = resumeAt + context.originSeconds - newOrigin
                for entry in plan.entries {
                    if let stage = decodeStages.values.first(where: { $0.lane == entry.lane }) {
                        let decoder = try Decoder(stream: demuxer.stream(entry.input), lowDelay: true)
                        stage.stage.submit(.data(.newSource(decoder: decoder, timeBase: demuxer.streams[entry.input].timeBase, shift: shift)))
                        routes[entry.input] = stage
                    } else if let copy = copyLanes.values.first(where: { $0.lane == entry.lane }) {
                        copy.newSource(timeBase: demuxer.streams[entry.input].timeBase, shift: shift)
                        copies[entry.input] = copy
                    }
                }
                reconnectCount.add(1, ordering: .relaxed)
                logger.notice("input reconnected after \(attempts) attempt(s); media time carries on at \(String(format: "%.3f", resumeAt)) s")
                onEvent?("input_reconnected", ["attempts": String(attempts), "media_time": String(format: "%.3f", resumeAt)])
                return (demuxer, routes, copies, shift)
            } catch {
                logger.debug("reconnect attempt \(attempts) failed: \(error)")
                if let e = error as? MediaError { lastError = e.message }
                guard !gaveUp.load(ordering: .relaxed), let pause = outage.failed() else {
                    // --reconnect-timeout passed: the run ends (exit 2) with one line.
                    onEvent?("input_gave_up", ["reason": lastError])
                    context.fail(outage.gaveUp("input '\(Redaction.url(job.input))'", reason: lastError), stage: "demux")
                    return nil
                }
                // Sleep in small steps so a signal still stops the run at once.
                let until = Date().addingTimeInterval(Self.listens(job.input) ? RetryPolicy.firstDelay : pause)
                while Date() < until && !isCancelled { usleep(50_000) }
            }
        }
        return nil
    }

    /// H.264 and HEVC cannot code an odd width (or height) with chroma subsampled that way
    /// (their cropping moves in whole chroma samples), so x264/x265 refuse to open. For such a
    /// picture this returns the encoder's 4:4:4 format of the same depth, which keeps the size;
    /// nil when the format can be used as it is (or there is nothing better).
    static func fullChromaFormat(for format: AVPixelFormat, width: Int, height: Int, codecName: String,
                                 supported: [AVPixelFormat]) -> AVPixelFormat? {
        guard let desc = av_pix_fmt_desc_get(format), let codec = avcodec_find_encoder_by_name(codecName),
              codec.pointee.id == AV_CODEC_ID_H264 || codec.pointee.id == AV_CODEC_ID_HEVC else { return nil }
        let oddWidth = width % 2 == 1 && desc.pointee.log2_chroma_w > 0
        let oddHeight = height % 2 == 1 && desc.pointee.log2_chroma_h > 0
        guard oddWidth || oddHeight else { return nil }
        let fullRange = format == AV_PIX_FMT_YUVJ420P || format == AV_PIX_FMT_YUVJ422P  // keep the range as is
        let candidates = desc.pointee.comp.0.depth > 8 ? [AV_PIX_FMT_YUV444P10LE, AV_PIX_FMT_YUV444P]
            : fullRange ? [AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV444P] : [AV_PIX_FMT_YUV444P, AV_PIX_FMT_YUV444P10LE]
        return candidates.first { supported.contains($0) }
    }

    // MARK: error texts

    /// The scheme of a network URL with nothing between `scheme://` and its path (`rtmp://`,
    /// `srt://?mode=caller`), which FFmpeg would quietly aim at the local host; nil otherwise.
    /// A port alone (`udp://:1234`, a listener on every interface) is fine.
    static func schemeMissingHost(_ url: String) -> String? {
        guard let sep = url.range(of: "://") else { return nil }
        let scheme = url[..<sep.lowerBound].lowercased()
        guard ["rtmp", "rtmps", "srt", "udp", "rtp", "rtsp", "tcp", "http", "https"].contains(scheme) else { return nil }
        let rest = url[sep.upperBound...]
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        return authority.isEmpty ? scheme : nil
    }

    static func inputVideoBitRate(info: StreamInfo, demuxer: Demuxer) -> Int64? {
        if info.bitRate > 0 { return info.bitRate }
        let total = demuxer.context.pointee.bit_rate
        guard total > 0 else { return nil }
        let audio = demuxer.streams.filter { $0.kind == .audio }.map { $0.bitRate > 0 ? $0.bitRate : 128_000 }.reduce(0, +)
        return total - audio > 0 ? total - audio : nil
    }

    static func explainOpen(_ e: MediaError, url: String) -> String {
        if e.code == lc_averror_protocol_not_found() {
            return "input '\(url)': unsupported protocol (use a file path, -, rtmp://, srt://, udp://, http(s)://)"
        }
        if e.code == lc_averror_invaliddata() || e.code == lc_averror_demuxer_not_found() {
            return "input '\(url)' is not a media file labelcast can read (\(e.message))"
        }
        if e.code == lc_averror_exit() || e.code == lc_averror_etimedout() {
            return "input '\(url)' did not answer in time: check the address and that the source is sending"
        }
        return "cannot open input '\(url)': \(e.message)"
    }

    static func explainSetup(_ e: MediaError, output: String) -> String {
        if e.call == "avio_open" { return "cannot write output '\(output)': \(e.message)" }
        if e.call.hasPrefix("avcodec_open2") || e.call.contains("encoder") { return "cannot start the encoder: \(e.message)" }
        return "cannot set up the output '\(output)': \(e)"
    }

    static func explainRuntime(_ error: any Error, input: String, output: String) -> String {
        guard let e = error as? MediaError else { return "\(error)" }
        if e.code == lc_averror_enospc() { return "output '\(output)': disk full; nothing was kept (free space there or write elsewhere, then run again)" }
        if e.code == lc_averror_etimedout() { return "input '\(input)': \(e.message)" }
        if e.call.hasPrefix("av_interleaved_write_frame") || e.call.hasPrefix("av_write_trailer") || e.call.hasPrefix("avio") {
            return "writing output '\(output)' failed: \(e.message)"
        }
        return e.description
    }
}

/// Read access to a stage's queue depth, whatever it carries.
protocol StageDepth {
    var stageName: String { get }
    var currentDepth: Int { get }
    var highestDepth: Int { get }
}
extension Stage: StageDepth {
    var stageName: String { name }
    var currentDepth: Int { depth }
    var highestDepth: Int { maxDepth }
}

extension Muxer {
    /// Whether the container takes a video stream at all (wav, mp3, flac, .m4a… do not).
    func canHold(video: Bool) -> Bool { OutputCodecPolicy(muxer: self).holdsVideo }
}
