import ArgumentParser
import Foundation
import Labelcast
import Overlay

/// `labelcast run`: label a stream.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Label a stream: read INPUT, label its synthetic segments, write OUTPUT.",
        discussion: """
        Times are seconds of media time from the first timestamp of the input.
        Examples:
          labelcast run -i in.mp4 -o out.mp4 --segments 5-12.5,30-
          labelcast run -i rtmp://127.0.0.1/live/in -o rtmp://127.0.0.1/out/stream --synthetic all
          cat in.ts | labelcast run -i - -o - -f mpegts --synthetic all > out.ts
        """
    )

    @Option(name: [.customShort("i"), .customLong("input")], help: "Input URL or path: file, rtmp://, srt://, udp://, http(s)://…m3u8; - is stdin. Also --input-file or LABELCAST_INPUT, which keep a URL with credentials out of the process list.")
    var inputOption: String?
    @Option(help: "Read the input URL from the first line of this file (keeps credentials out of `ps`).")
    var inputFile: String?
    @Option(name: [.customShort("o"), .customLong("output")], help: "Output path or URL; - is stdout. Also --output-file or LABELCAST_OUTPUT.")
    var outputOption: String?
    @Option(help: "Read the output URL (e.g. rtmp://host/app/STREAM-KEY) from the first line of this file.")
    var outputFile: String?
    @Option(name: [.customShort("f"), .long], help: "Output container where the URL does not tell (mpegts, flv, mp4, matroska, wav, hls, dash).")
    var format: String?
    @Option(name: .customLong("muxer-opt"), help: ArgumentHelp("An option for the output muxer, e.g. hls_time=4, hls_segment_type=fmp4, hls_list_size=6 (repeatable; a +flag value adds to labelcast's flags).", valueName: "KEY=VALUE"))
    var muxerOpt: [String] = []
    @Flag(name: .customLong("cmaf-ll"), help: "Write a DASH output (.mpd) as low-latency CMAF: fMP4 segments in 0.5 s chunks, ldash manifest.")
    var cmafLowLatency = false

    @Option(help: "Input streams to keep, FFmpeg's stream specifiers on input 0 (repeatable, in order): 0:v:0, 0:a, 0:s:1, 0:m:language:eng; -0:d takes streams away. Default: every stream (video and audio labeled, subtitles, data and attachments copied).")
    var map: [String] = []
    @Option(help: "Which parts are synthetic when no segments are given: all, none or auto.")
    var synthetic: String = "none"
    @Option(parsing: .unconditional, help: ArgumentHelp("--synthetic auto: hold the output up to S seconds of media (0-\(Int(AutoHold.maximum))) while the input is searched for the watermark, so marked content is labeled from its first marked frame; adds S to a live run's latency (default 0: labeled from when the mark is read).", valueName: "S"))
    var autoHold: Double = 0
    @Option(help: "Synthetic ranges in seconds, e.g. 5-12.5,30- (an open end runs to the end).")
    var segments: String?
    @Option(help: "JSON schedule: {\"segments\":[{\"start\":5,\"end\":12.5},{\"start\":30}]}.")
    var segmentsFile: String?

    @OptionGroup(title: "Visible label") var label: LabelOptions
    @OptionGroup(title: "Audio watermark and video mark") var watermark: WatermarkOptions
    @OptionGroup(title: "Provenance (GB 45438 metadata, chapters, sidecar, audible cue, C2PA signing)") var provenance: ProvenanceOptions

    @Option(help: "Video encoder (default libx264; libx265 for an HEVC input when copying unlabeled video, or a 10-bit/HDR one).")
    var videoCodec: String?
    @Option(help: "Encoder preset (default veryfast).")
    var preset: String = "veryfast"
    @Option(parsing: .unconditional, help: "Constant-quality factor (x264: 0-51); overrides the bit rate.")
    var crf: Double?
    @Option(help: "Video bit rate, e.g. 2500k; default near the input's.")
    var videoBitrate: String?
    @Option(parsing: .unconditional, help: "Keyframe interval in seconds of a full transcode (default 2; setting it turns the default copy off).")
    var gop: Double?
    @Flag(help: "Copy unlabeled video even with --crf/--video-bitrate/--gop (they then apply to the re-encoded GOPs only), and say so when copying cannot apply. Copying is the default: H.264 and HEVC packets go out bit-exact outside synthetic segments; files re-encode only the GOPs a segment touches, live inputs from the switch to the next IDR.")
    var copyUnlabeled = false
    @Flag(help: "Decode and re-encode every video frame (no copying outside synthetic segments).")
    var transcode = false
    @Option(help: ArgumentHelp("Live-like --copy-unlabeled runs: 'ahead' decodes only from the IDR before each synthetic start (default without --listen or --synthetic auto); 'continuous' decodes every picture, so a switch at any instant finds the decoder ready (default with them).", valueName: "ahead|continuous"))
    var copyDecode: String?
    @Option(help: "Audio encoder (default aac, or the container's own: PCM for wav, FLAC for flac).")
    var audioCodec: String?
    @Option(help: "Audio bit rate (default 128k). Given, every audio frame is re-encoded (as with --audio-codec); without, AAC audio is copied outside synthetic segments like the video.")
    var audioBitrate: String?

    @Flag(help: "Read a file input at its native rate, as a live source would arrive.")
    var realtime = false
    @Option(parsing: .unconditional, help: "Seconds without data from a live input before it counts as stalled (default 10).")
    var readTimeout: Double = 10
    @Option(parsing: .unconditional, help: "Live inputs: seconds to wait after the open for every stream the input declares (RTMP onMetaData, MPEG-TS PMT), e.g. video held back until its next keyframe; 0 takes what the open found (default 10).")
    var probeTimeout: Double = 10

    @Option(help: "Write the end-of-run report (frames, drops, per-stage latency percentiles) as JSON.")
    var metricsJson: String?
    @Option(help: "Write one CSV row per frame (its trace through every stage), streamed as the run goes.")
    var frameLog: String?
    @Option(help: "Serve GET /metrics (Prometheus), GET /healthz and the control API (GET/PUT /synthetic, POST /segments) on HOST:PORT (host defaults to 127.0.0.1).")
    var listen: String?
    @Option(help: "Bearer token the control API requires, at least 8 characters. Visible in `ps`: prefer --control-token-file or LABELCAST_CONTROL_TOKEN.")
    var controlToken: String?
    @Option(help: "Read the control API's bearer token from the first line of this file.")
    var controlTokenFile: String?
    @Flag(help: "Allow --listen on a non-loopback address without a control token (anyone who can connect can switch labeling); warned at every start.")
    var insecureNoToken = false
    @Option(help: "A Host header name the HTTP server answers besides IP addresses and localhost (repeatable; DNS rebinding defence).")
    var allowedHost: [String] = []
    @Option(help: "Append one JSON line per labeling decision and state change to this file.")
    var auditLog: String?
    @Flag(help: "End the run when a live input drops, instead of reconnecting.")
    var noReconnect = false
    @Option(parsing: .unconditional, help: "Live inputs and network outputs: seconds a connection may stay unanswered (at the start or after a drop) before the run ends with exit 2; 0 waits for ever (default 0).")
    var reconnectTimeout: Double = 0

    @OptionGroup var outputOptions: OutputOptions

    /// `-i`, else `--input-file`, else `LABELCAST_INPUT`.
    var input: String { (try? SecretSource.value(option: inputOption, optionName: "--input", file: inputFile, fileOption: "--input-file", environment: "LABELCAST_INPUT")) ?? "" }
    /// `-o`, else `--output-file`, else `LABELCAST_OUTPUT`.
    var output: String { (try? SecretSource.value(option: outputOption, optionName: "--output", file: outputFile, fileOption: "--output-file", environment: "LABELCAST_OUTPUT")) ?? "" }

    /// The control token from `--control-token`, `--control-token-file` or
    /// `LABELCAST_CONTROL_TOKEN`, at least 8 characters whichever it came from.
    func token() throws -> ControlToken? {
        guard let value = try SecretSource.value(option: controlToken, optionName: "--control-token", file: controlTokenFile,
                                                 fileOption: "--control-token-file", environment: "LABELCAST_CONTROL_TOKEN") else { return nil }
        let source = controlToken != nil ? "--control-token" : controlTokenFile != nil ? "--control-token-file '\(controlTokenFile!)'" : "LABELCAST_CONTROL_TOKEN"
        return try ControlToken(value, source: source)
    }

    func validate() throws {
        do {
            guard let i = try SecretSource.value(option: inputOption, optionName: "--input", file: inputFile, fileOption: "--input-file", environment: "LABELCAST_INPUT"), !i.isEmpty else {
                throw ValidationError("--input is missing or empty: give -i PATH|URL (- for stdin), --input-file FILE or LABELCAST_INPUT")
            }
            guard let o = try SecretSource.value(option: outputOption, optionName: "--output", file: outputFile, fileOption: "--output-file", environment: "LABELCAST_OUTPUT"), !o.isEmpty else {
                throw ValidationError("--output is missing or empty: give -o PATH|URL (- for stdout), --output-file FILE or LABELCAST_OUTPUT")
            }
            Redaction.register(url: i)
            Redaction.register(url: o)
            if let t = try token() { Redaction.register(t.value) }
        } catch let e as LabelcastError { throw ValidationError(e.message) }
        if let copyDecode, CopyDecode(rawValue: copyDecode) == nil {
            throw ValidationError("--copy-decode '\(copyDecode)' is not one of ahead, continuous")
        }
        guard SyntheticMode(rawValue: synthetic) != nil else {
            throw ValidationError("--synthetic '\(synthetic)' is not one of all, none, auto")
        }
        if segments != nil && segmentsFile != nil {
            throw ValidationError("--segments and --segments-file both given: use one")
        }
        guard autoHold.isFinite, autoHold >= 0, autoHold <= AutoHold.maximum else {
            throw ValidationError("--auto-hold \(autoHold) is out of range: seconds from 0 (off) to \(Int(AutoHold.maximum)) (each second holds a second of decoded frames, ~93 MB at 1080p30)")
        }
        if autoHold > 0, synthetic != "auto" || segments != nil || segmentsFile != nil {
            throw ValidationError("--auto-hold applies to --synthetic auto without a schedule: add --synthetic auto, or leave --auto-hold out")
        }
        if let crf, !(0...63).contains(crf) { throw ValidationError("--crf \(crf) is out of range (0 to 51 for x264)") }
        if let gop, !(gop > 0 && gop <= 60 && gop.isFinite) { throw ValidationError("--gop \(gop) is out of range: seconds between keyframes, more than 0 and at most 60") }
        if copyUnlabeled && transcode { throw ValidationError("--copy-unlabeled and --transcode both given: use one (copying is the default)") }
        guard readTimeout > 0, readTimeout.isFinite else { throw ValidationError("--read-timeout must be a positive number of seconds") }
        guard reconnectTimeout >= 0, reconnectTimeout.isFinite else { throw ValidationError("--reconnect-timeout \(reconnectTimeout) is out of range: seconds, 0 (wait for ever) or more") }
        guard probeTimeout >= 0, probeTimeout <= 120, probeTimeout.isFinite else { throw ValidationError("--probe-timeout \(probeTimeout) is out of range: seconds from 0 (off) to 120") }
        if let videoBitrate { _ = try parseBitRate(videoBitrate, option: "--video-bitrate") }
        if let audioBitrate { _ = try parseBitRate(audioBitrate, option: "--audio-bitrate") }
        try label.validate()
        if let listen {
            let address: ListenAddress
            do { address = try ListenAddress.parse(listen) } catch let e as LabelcastError { throw ValidationError(e.message) }
            if !address.isLoopback, (try? token()) == nil, !insecureNoToken {
                throw LabelcastError("--listen \(address) is reachable from other hosts and no control token is set: give --control-token-file FILE (or LABELCAST_CONTROL_TOKEN), listen on 127.0.0.1, or pass --insecure-no-token to accept that anyone who can connect can switch labeling")
            }
        }
        for host in allowedHost where host.isEmpty || host.contains("/") || host.contains(" ") {
            throw ValidationError("--allowed-host '\(host)' is not a host name: give the name clients put in the URL, e.g. labelcast.example.net")
        }
        for (name, path) in [("--metrics-json", metricsJson), ("--frame-log", frameLog), ("--audit-log", auditLog)] {
            guard let path else { continue }
            let dir = (path as NSString).deletingLastPathComponent
            guard dir.isEmpty || FileManager.default.fileExists(atPath: dir) else {
                throw ValidationError("\(name) '\(path)': folder '\(dir)' does not exist")
            }
        }
        _ = try muxerOptions()
        if output != "-" && output == input { throw ValidationError("--output is the same as --input: write to another file") }
        _ = try schedule()
    }

    func schedule() throws -> [SyntheticRange] {
        do {
            if let segments { return try SegmentSchedule.parse(list: segments) }
            if let segmentsFile { return try SegmentSchedule.load(file: segmentsFile) }
        } catch let e as ScheduleError {
            throw ValidationError(e.message)
        }
        return []
    }

    /// `--muxer-opt KEY=VALUE`, each split at its first `=`.
    func muxerOptions() throws -> [(key: String, value: String)] {
        try muxerOpt.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--muxer-opt '\(item)' is not KEY=VALUE: give e.g. --muxer-opt hls_time=4")
            }
            return (String(item[..<eq]), String(item[item.index(after: eq)...]))
        }
    }

    func makeJob() throws -> LabelJob {
        var job = LabelJob(input: input, output: output)
        job.outputFormat = format
        job.muxerOptions = try muxerOptions()
        job.cmafLowLatency = cmafLowLatency
        job.synthetic = SyntheticMode(rawValue: synthetic)!
        job.segments = try schedule()
        job.video.codec = videoCodec ?? job.video.codec
        job.video.codecChosen = videoCodec != nil
        job.video.preset = preset
        job.video.crf = crf
        job.video.bitRate = try videoBitrate.map { try parseBitRate($0, option: "--video-bitrate") }
        job.video.gopSeconds = gop ?? 2
        job.video.gopChosen = gop != nil
        job.video.copy = transcode ? .never : copyUnlabeled ? .always : .auto
        job.video.copyDecode = copyDecode.flatMap(CopyDecode.init(rawValue:))
        job.audio.codec = audioCodec
        if let audioBitrate {
            job.audio.bitRate = try parseBitRate(audioBitrate, option: "--audio-bitrate")
            job.audio.bitRateChosen = true
        }
        job.overlay = try label.style()
        job.watermark = try watermark.settings().0
        job.videoMark = try watermark.videoMarkSettings()
        job.payloadID = (job.watermark ?? job.videoMark)?.payloadID
        job.provenance = try provenance.settings(profile: label.profile)
        job.realtime = realtime
        job.autoHold = autoHold
        job.metricsJSONPath = metricsJson
        job.frameLogPath = frameLog
        job.listen = try listen.map { try ListenAddress.parse($0) }
        job.streamMaps = map
        job.controlToken = try token()
        job.control.allowedHosts = allowedHost
        job.auditLogPath = auditLog
        job.reconnect = !noReconnect
        job.reconnectTimeout = reconnectTimeout
        job.readTimeout = readTimeout
        job.probeTimeout = probeTimeout
        return job
    }

    func run() async throws {
        let logger = outputOptions.makeLogger()
        var job = try makeJob()
        if let l = job.listen, !l.isLoopback, job.controlToken == nil {
            // Straight to stderr, not through the logger: -q (the sample unit's) must not hide it.
            printError("labelcast: warning: --insecure-no-token: the control API on \(l) has no token; anyone who can connect can switch labeling")
        }
        if let style = job.overlay, let warning = label.textWarning(style) { job.startupWarnings.append(warning) }
        if let voice = job.provenance.audibleCue?.voice { logger.notice("audible cue: \(voice)") }
        if let w = job.watermark ?? job.videoMark, w.usesDemoKey {
            job.startupWarnings.append("no --key-file or LABELCAST_KEY: the watermark uses the public demo key, which anyone can read or forge")
        }
        let runner = LabelRunner(job: job, logger: logger)
        let signals = SignalWatcher(onHangup: {
            do {
                let reopened = try runner.reopenLogs()
                logger.notice("SIGHUP: reopened \(reopened.isEmpty ? "no log (none open yet)" : reopened.joined(separator: ", "))")
            } catch {
                logger.warning("SIGHUP: \(error); still writing to the old file")
            }
        }) { signal in
            logger.notice("\(signal == SIGINT ? "SIGINT" : "SIGTERM"): finishing the output…")
            runner.cancel()
        }
        let progress = ProgressLine(enabled: !outputOptions.quiet, live: job.realtime || job.inputIsLive) { runner.progress() }
        progress.start()
        let report: RunReport
        do {
            report = try await runner.run()
        } catch {
            progress.stop()
            // Stopped before the input even opened: say why, but exit as a stopped run does.
            if let signal = signals.received {
                printError("labelcast: \(error)")
                throw ExitCode(128 + signal)
            }
            throw error
        }
        progress.stop()
        if !outputOptions.quiet { printError(report.summary) }
        if let signal = signals.received { throw ExitCode(128 + signal) }
    }
}
