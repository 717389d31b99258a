import Foundation
import AudioMark
import Overlay

/// Everything one labeling run needs: input, output, which parts are synthetic, how to label,
/// how to encode. A value: build it, hand it to `LabelcastJob`, and run.
public struct LabelJob: Sendable {
    /// Input URL or path (`-` = stdin).
    public var input: String
    /// Output path or URL (`-` = stdout).
    public var output: String
    /// Output container when the URL does not tell (`mpegts`, `flv`, `mp4`, `matroska`, `wav`).
    public var outputFormat: String?
    /// Input container, when probing should be skipped.
    public var inputFormat: String?
    /// `--map` stream specifiers (FFmpeg's syntax, input 0), in order; empty: every stream.
    public var streamMaps: [String] = []
    /// `--muxer-opt KEY=VALUE`, in the order given: passed to the output muxer (over labelcast's
    /// own defaults; a `+flag`/`-flag` value adds to a flags option instead of replacing it).
    public var muxerOptions: [(key: String, value: String)] = []
    /// `--cmaf-ll`: a DASH output as low-latency CMAF (short chunks inside each segment).
    public var cmafLowLatency = false

    /// Which parts are synthetic when `segments` is empty.
    public var synthetic: SyntheticMode = .none
    /// Synthetic ranges of media time.
    public var segments: [SyntheticRange] = []

    public var video = VideoEncoding()
    public var audio = AudioEncoding()

    /// Read a file input at its native rate, as a live source would arrive.
    public var realtime = false
    /// `--auto-hold`: seconds of media the lanes hold for `--synthetic auto`, so content found by
    /// its watermark is labeled from its first marked frame (`AutoHold`); 0: no hold.
    public var autoHold: Double = 0
    /// An input that sends nothing for this long (seconds) counts as stalled; live inputs only.
    public var readTimeout: Double = 10
    /// Live inputs: how long to wait after the open for every stream the input declares
    /// (onMetaData, MPEG-TS PMT) to show up (`LiveProbe`); 0 takes what the open found.
    public var probeTimeout: Double = 10
    /// Live inputs: reopen a dropped or stalled input (capped exponential backoff) instead of
    /// ending the run. A live run then ends only on a signal or `cancel()`.
    public var reconnect = true
    /// Live connections (`RetryPolicy`): seconds an outage — a live input or a network output
    /// that does not answer, at the start or after a drop — may last before the run gives up
    /// (exit 2); 0 waits for ever.
    public var reconnectTimeout: Double = 0

    /// `--metrics-json`: the end-of-run report, written at the end (also after a failure).
    public var metricsJSONPath: String?
    /// `--frame-log`: one CSV row per frame written, streamed as the run goes.
    public var frameLogPath: String?
    /// `--listen`: serve `/metrics`, `/healthz` and the live control API while the run lasts.
    public var listen: ListenAddress?
    /// `--control-token`: the control API then needs `Authorization: Bearer TOKEN`.
    public var controlToken: ControlToken?
    /// The control server's Host check, connection limit, timeouts and rate limits.
    public var control = ControlSettings()
    /// `--audit-log`: append-only JSON lines of labeling decisions and state changes.
    public var auditLogPath: String?

    /// The inaudible watermark on synthetic audio; nil leaves it out (`--no-watermark`).
    /// Default: the public demo key (say so to the user) and payload id 0.
    public var watermark: WatermarkSettings? = WatermarkSettings(key: .demo, payloadID: 0, usesDemoKey: true)

    /// The invisible video mark on synthetic video (same key and payload id as the audio mark);
    /// nil leaves it out (`--no-video-mark`).
    public var videoMark: WatermarkSettings? = WatermarkSettings(key: .demo, payloadID: 0, usesDemoKey: true)

    /// Warnings to log once the run has started (so a run that fails at once prints only its error).
    public var startupWarnings: [String] = []

    /// The visible label on synthetic video; nil leaves it out (`--no-overlay`).
    public var overlay: LabelStyle? = LabelStyle()

    /// GB 45438 metadata fields, the `--segments-out` sidecar and the audible cue.
    public var provenance = ProvenanceSettings()
    /// The watermark's 32-bit payload id (`--payload-id`); the sidecar records it when set.
    public var payloadID: UInt32?

    /// Custom labeling processors, built per lane once the stream parameters are known, in place
    /// of the built-in ones. The gate before the encoder holds them to the same rule: a
    /// synthetic frame must come out carrying `requiredLayers(lane)` in `LaneFrame.layers`, or
    /// it is withheld (`dropped(label-missing)`).
    public var videoProcessorFactory: (@Sendable (VideoStreamFormat, SyntheticTimeline) throws -> any FrameProcessor)?
    public var audioProcessorFactory: (@Sendable (AudioStreamFormat, SyntheticTimeline) throws -> any FrameProcessor)?

    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }

    /// The labeling layers that are on for a lane: what every synthetic frame of it must carry
    /// past the gate before its encoder.
    public func requiredLayers(_ lane: Lane) -> LabelLayers {
        switch lane.kind {
        case .video:
            var layers: LabelLayers = []
            if overlay != nil { layers.insert(.overlay) }
            if videoMark != nil { layers.insert(.videoMark) }
            return layers
        case .audio: return watermark != nil ? .watermark : []
        case .subtitle, .data, .attachment: return []
        }
    }

    /// Whether the input is a live source (network URL or a pipe) rather than a file.
    /// Read over a network (live, or HTTP/HLS): each read is bounded by `readTimeout`, so a
    /// server that stops sending (an HLS publisher that died) ends the run instead of hanging it.
    public var inputIsNetwork: Bool {
        let lower = input.lowercased()
        return inputIsLive || ["http://", "https://", "hls+http://", "hls+https://", "hls://"].contains { lower.hasPrefix($0) }
    }

    public var inputIsLive: Bool {
        let lower = input.lowercased()
        return ["rtmp://", "rtmps://", "srt://", "udp://", "rtp://", "rtsp://", "tcp://"].contains { lower.hasPrefix($0) }
    }
}

/// Video encoder settings (CLI: --video-codec, --preset, --crf, --video-bitrate, --gop).
public struct VideoEncoding: Sendable, Equatable {
    public var codec = "libx264"
    /// Whether the user named `codec` (`--video-codec`): when not, the run may pick a codec that
    /// carries the input's format better (10-bit HEVC stays HEVC with libx265).
    public var codecChosen = false
    public var preset = "veryfast"
    public var tune: String? = "zerolatency"
    /// Constant quality; when nil and no bitrate is given, the input's bitrate is used.
    public var crf: Double?
    /// Bits per second; nil = near the input's bitrate (or CRF 23 when the input does not say).
    public var bitRate: Int64?
    /// Keyframe interval in seconds.
    public var gopSeconds: Double = 2
    /// Whether the user set `gopSeconds` (`--gop`): an encoder setting for every frame, which
    /// turns the default copy off.
    public var gopChosen = false
    /// Whether H.264 and HEVC input packets go out as they are outside synthetic GOPs
    /// (`VideoCopyFormat`), only GOPs a synthetic segment touches being re-encoded.
    public var copy: VideoCopyChoice = .auto
    /// `--copy-decode`: with per-picture copying (live-like runs), whether the decoder runs
    /// through copied stretches. nil: `.ahead` when the Timeline is known in advance (no
    /// control API, not `--synthetic auto`), else `.continuous`.
    public var copyDecode: CopyDecode?
    public init() {}
}

/// Whether video outside synthetic segments is copied or re-encoded.
public enum VideoCopyChoice: String, Sendable, Equatable, CaseIterable {
    /// The default: copy where it applies. A full transcode where it cannot apply, where the
    /// user set the encoder for every frame (`--crf`, `--video-bitrate`, `--gop`, another
    /// codec) or where every frame is synthetic at the start (`--synthetic all`); an info line says which.
    case auto
    /// `--copy-unlabeled`: copy even with encoder options (they apply to the re-encoded
    /// GOPs); a notice where it cannot apply.
    case always
    /// `--transcode`: every frame decoded and re-encoded.
    case never
}

extension LabelJob {
    /// Why the default copy gives way to a full transcode before the input is looked at, or
    /// nil. Only `.auto` has such reasons; `.never` is no copy and `.always` no reason.
    public var copyOffByChoice: String? {
        guard video.copy == .auto else { return nil }
        var set: [String] = []
        if video.crf != nil { set.append("--crf") }
        if video.bitRate != nil { set.append("--video-bitrate") }
        if video.gopChosen { set.append("--gop") }
        if !set.isEmpty {
            return "\(set.joined(separator: ", ")) set\(set.count == 1 ? "s" : "") the encoder for every frame; --copy-unlabeled copies anyway"
        }
        if synthetic == .all, segments.isEmpty {
            // With --listen an operator may switch it off later; until then every frame is
            // re-encoded either way, and the run keeps the full transcode's encoder set-up.
            return listen == nil ? "--synthetic all without --listen: every frame is synthetic"
                : "--synthetic all: every frame is synthetic until a switch; --copy-unlabeled copies after one"
        }
        return nil
    }

    /// Why this job re-encodes every audio frame by its own settings, or nil when unlabeled AAC
    /// may be copied (the input and output decide the rest: `AudioCopyFormat`).
    public var audioCopyOffByChoice: String? {
        if video.copy == .never { return "--transcode" }
        if audio.codec != nil { return "--audio-codec sets the encoder for every frame" }
        if audio.bitRateChosen { return "--audio-bitrate sets the encoder for every frame" }
        if synthetic == .all, segments.isEmpty {
            return listen == nil ? "--synthetic all without --listen: every frame is synthetic" : "--synthetic all: every frame is synthetic until a switch"
        }
        if synthetic == .auto { return "--synthetic auto: the input's markings decide as they are read" }
        return nil
    }

    /// Whether this job may copy video (the input and output decide the rest).
    public var copyWanted: Bool { video.copy != .never && copyOffByChoice == nil }
}

/// How a live copy keeps its decoder ready for the next synthetic picture.
public enum CopyDecode: String, Sendable, Equatable, CaseIterable {
    /// Decode only from the IDR before each synthetic start (the longest GOP seen ahead of it);
    /// a start not known in advance decodes the GOP so far in a burst when it comes.
    case ahead
    /// Decode every picture, so a switch at any instant finds the decoder ready.
    case continuous
}

/// Audio encoder settings (CLI: --audio-codec, --audio-bitrate).
public struct AudioEncoding: Sendable, Equatable {
    /// nil = the container's own choice (AAC; PCM for wav, FLAC for flac).
    public var codec: String?
    public var bitRate: Int64 = 128_000
    /// `--audio-bitrate` given: every frame is encoded at it (no copying of unlabeled audio).
    public var bitRateChosen = false
    public init() {}
}

/// What a video lane's processor learns about its stream before the first frame.
public struct VideoStreamFormat: Sendable {
    public var width: Int
    public var height: Int
    public var pixelFormatName: String
    public var frameRate: Double
    /// FFmpeg's name of the colour transfer (`bt709`, `smpte2084`, `arib-std-b67`, `unknown`…):
    /// the visible label's white follows it (reference white on PQ/HLG).
    public var colorTransfer: String = "unknown"
    /// FFmpeg's name of the Y'CbCr matrix (`bt709`, `bt2020nc`, `smpte170m`, `unknown`…).
    public var colorSpace: String = "unknown"
    /// The stream's display rotation, degrees counter-clockwise (0, 90, 180, 270): the
    /// visible label is laid out on the picture as displayed.
    public var rotation: Int = 0
}

/// What an audio lane's processor learns: the planar float format it will be given.
public struct AudioStreamFormat: Sendable {
    public var sampleRate: Int
    public var channels: Int
}
