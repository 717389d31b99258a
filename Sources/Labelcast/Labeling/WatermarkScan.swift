import AudioMark
import CFFmpeg
import Foundation
import MediaIO
import Overlay
import Synchronization
import VideoMark

/// What `labelcast detect` found: the marked ranges of media time and their payloads, from the
/// audio watermark and the video mark.
public struct DetectionReport: Sendable, Codable {
    public struct Segment: Sendable, Codable, Equatable {
        public var start: Double
        public var end: Double
        /// The 32-bit id as `0x` and eight hex digits.
        public var payload: String
        public var confidence: Double
        /// True when the payload's keyed CRC verified somewhere in the range; false for a range
        /// found only by confirmation (correlation with the coded bits of a payload read earlier
        /// in the stream): surely marked with the key, the id very likely but not CRC-proven.
        public var verified: Bool
        /// Which mark carried the range: `audio` (AudioMark) or `video` (VideoMark).
        public var modality: String = "audio"
    }
    /// Seconds of media scanned (the longer of the audio and the video).
    public var duration: Double
    public var segments: [Segment]
    /// The strongest correlation (z-score) with the key's sync pattern in any window: evidence
    /// that a mark of this key is there even when no payload was read (unmarked audio and other
    /// keys stay below ~5; `WatermarkDetector.presenceThreshold` is 6). A diagnostic, not a
    /// range: a short or badly degraded excerpt of marked audio shows here first.
    public var syncZ: Double?
    /// The same for the video mark (`VideoMarkDetector.strongestSync`): unmarked video and other
    /// keys stay below its presence threshold (6); nil when the input has no video.
    public var videoSyncZ: Double?

    enum CodingKeys: String, CodingKey {
        case duration, segments, syncZ = "sync_z", videoSyncZ = "video_sync_z"
    }

    public init(duration: Double, segments: [Segment], syncZ: Double? = nil, videoSyncZ: Double? = nil) {
        self.duration = duration
        self.segments = segments
        self.syncZ = syncZ
        self.videoSyncZ = videoSyncZ
    }

    /// The `syncZ` at or above which the sync pattern counts as present.
    public static let presenceThreshold = WatermarkDetector.presenceThreshold

    /// No payload was read, but the key's sync pattern is there (see `syncZ`).
    public var syncOnly: Bool {
        segments.isEmpty && ((syncZ ?? 0) >= Self.presenceThreshold || (videoSyncZ ?? 0) >= VideoMarkDetector.presenceThreshold)
    }

    /// One line per range: `START END PAYLOAD CONFIDENCE`, the word `confirmed` after a range
    /// whose payload was not CRC-verified in it (see `Segment.verified`), and the word `video`
    /// after a range the video mark carried (audio ranges keep the four fields they always had).
    public var lines: [String] {
        segments.map {
            String(format: "%.3f %.3f %@ %.1f", $0.start, $0.end, $0.payload, $0.confidence) + ($0.verified ? "" : " confirmed")
                + ($0.modality == "audio" ? "" : " \($0.modality)")
        }
    }
}

/// Reads any input (file, pipe, live URL) in one pass: decodes its audio, downmixes and
/// resamples it to the audio detector's rate, decodes its video and hands each picture's luma to
/// the video mark's detector; both find their mark blind. Times are media time from the stream
/// start. An input with only audio or only video is read for the one mark it can carry.
public final class WatermarkScan: Sendable {
    public let input: String
    private let key: WatermarkKey
    private let realtime: Bool
    private let interrupter: IOInterrupter

    public init(input: String, key: WatermarkKey, realtime: Bool = false, readTimeout: Double = 10) {
        self.input = input
        self.key = key
        self.realtime = realtime
        let network = LabelJob(input: input, output: "-").inputIsNetwork
        interrupter = IOInterrupter(timeout: network ? readTimeout : nil)
    }

    /// Stops reading; `run` then returns what it found so far.
    public func cancel() { interrupter.cancel() }

    static func segment(_ d: WatermarkDetection, offset: Double) -> DetectionReport.Segment {
        DetectionReport.Segment(start: d.start + offset, end: d.end + offset, payload: String(format: "0x%08X", d.payload.id),
                                confidence: (d.confidence * 10).rounded() / 10, verified: d.verified)
    }

    static func segment(_ d: VideoMarkDetection) -> DetectionReport.Segment {
        DetectionReport.Segment(start: (d.start * 1000).rounded() / 1000, end: (d.end * 1000).rounded() / 1000,
                                payload: String(format: "0x%08X", d.payload.id),
                                confidence: (d.confidence * 10).rounded() / 10, verified: true, modality: "video")
    }

    /// Scans to the end of input. `onDetection` sees each window's detection as it is made
    /// (for live use); the report holds the merged ranges.
    public func run(onDetection: ((DetectionReport.Segment) -> Void)? = nil) throws -> DetectionReport {
        let display = Redaction.url(input)
        let job = LabelJob(input: input, output: "-")
        if !job.inputIsLive, input != "-", !input.contains("://"), !FileManager.default.fileExists(atPath: input) {
            throw LabelcastError("input '\(display)' does not exist: check the path")
        }
        var options: [String: String] = [:]
        if job.inputIsLive { options = ["probesize": "500000", "analyzeduration": "1000000"] }
        let demuxer: Demuxer
        do {
            demuxer = try Demuxer(url: input == "-" ? "pipe:0" : input, options: options, displayName: display, interrupter: interrupter)
        } catch let e as MediaError {
            throw LabelcastError(PipelineRunner.explainOpen(e, url: display))
        }
        let audioIndex = demuxer.bestStream(.audio), videoIndex = demuxer.bestStream(.video)
        guard audioIndex != nil || videoIndex != nil else {
            throw LabelcastError("input '\(display)' has no audio or video stream: the marks are in the audio and the picture")
        }
        let origin = [videoIndex, audioIndex].compactMap { $0 }
            .compactMap { MediaTime.seconds(demuxer.streams[$0].startTime, demuxer.streams[$0].timeBase) }.min() ?? 0
        let audio = try audioIndex.map { try AudioPart(stream: demuxer.streams[$0], decoder: Decoder(stream: demuxer.stream($0)), key: key) }
        let video = try videoIndex.map { try VideoPart(stream: demuxer.streams[$0], decoder: Decoder(stream: demuxer.stream($0)), key: key) }
        let paceIndex = videoIndex ?? audioIndex!
        var pacing: (wall: UInt64, media: Double)?
        let videoCallback: ((DetectionReport.Segment) -> Void)? = onDetection

        func drain(_ index: Int) throws {
            if index == audioIndex, let a = audio {
                try a.drain(origin: origin, onDetection: onDetection)
            } else if index == videoIndex, let v = video {
                try v.drain(origin: origin, onDetection: videoCallback)
            }
        }
        readLoop: while true {
            let result: Demuxer.ReadResult
            do { result = try demuxer.read() } catch let e as MediaError {
                throw LabelcastError(PipelineRunner.explainRuntime(e, input: display, output: "-"))
            }
            guard case .packet(let packet) = result else { break readLoop }
            let index = packet.streamIndex
            let decoder: Decoder
            if index == audioIndex, let a = audio { decoder = a.decoder } else if index == videoIndex, let v = video { decoder = v.decoder } else { continue }
            if realtime && !job.inputIsLive, index == paceIndex,
               let t = MediaTime.seconds(packet.dts != MediaTime.noPTS ? packet.dts : packet.pts, demuxer.streams[index].timeBase) {
                if let start = pacing {
                    let due = start.wall + UInt64(max(0, t - start.media) * 1e9)
                    let now = FrameTrace.now()
                    if due > now { usleep(UInt32(min(1_000_000, (due - now) / 1000))) }
                } else { pacing = (FrameTrace.now(), t) }
            }
            do { while try decoder.send(packet) == .full { try drain(index) } } catch { continue }
            try drain(index)
        }
        var found: [DetectionReport.Segment] = []
        var duration = 0.0
        if let a = audio, let i = audioIndex {
            _ = try? a.decoder.send(nil)
            try drain(i)
            found += try a.finish()
            duration = max(duration, a.duration)
        }
        if let v = video, let i = videoIndex {
            _ = try? v.decoder.send(nil)
            try drain(i)
            found += v.finish()
            duration = max(duration, v.duration)
        }
        found.sort { ($0.start, $0.modality) < ($1.start, $1.modality) }
        return DetectionReport(duration: (duration * 1000).rounded() / 1000, segments: found,
                               syncZ: audio.map { ($0.detector.strongestSync * 100).rounded() / 100 },
                               videoSyncZ: video.map { ($0.detector.strongestSync * 100).rounded() / 100 })
    }

    /// The audio side of a scan: decoder, downmix/resample to 16 kHz mono, AudioMark's detector.
    private final class AudioPart {
        let info: StreamInfo
        let decoder: Decoder
        let detector: WatermarkDetector
        private var resampler: MediaIO.Resampler?
        private var offset: Double?
        private var samples = 0
        private var origin = 0.0

        init(stream: StreamInfo, decoder: Decoder, key: WatermarkKey) {
            info = stream
            self.decoder = decoder
            detector = WatermarkDetector(key: key)
        }

        var duration: Double { Double(samples) / Double(WatermarkDetector.analysisSampleRate) }

        func drain(origin: Double, onDetection: ((DetectionReport.Segment) -> Void)?) throws {
            self.origin = origin
            while true {
                let r: CodecReceiveResult<Frame>
                do { r = try decoder.receive() } catch { continue }
                guard case .output(let f) = r else { return }
                try feed(f, onDetection: onDetection)
            }
        }

        private func feed(_ frame: Frame, onDetection: ((DetectionReport.Segment) -> Void)?) throws {
            if offset == nil {
                offset = max(0, (MediaTime.seconds(frame.pts, info.timeBase) ?? origin) - origin)
            }
            if resampler == nil || !resampler!.matches(frame) {
                resampler = try withUnsafePointer(to: &frame.pointer.pointee.ch_layout) {
                    try MediaIO.Resampler(inputFormat: frame.sampleFormat, inputRate: frame.sampleRate, inputLayout: $0,
                                          outputFormat: AV_SAMPLE_FMT_FLT, outputRate: WatermarkDetector.analysisSampleRate, outputChannels: 1)
                }
            }
            if let out = try resampler!.convert(frame) { push(out, onDetection: onDetection) }
        }

        private func push(_ out: Frame, onDetection: ((DetectionReport.Segment) -> Void)?) {
            let n = out.sampleCount
            samples += n
            let p = UnsafeRawPointer(out.plane(0)!).assumingMemoryBound(to: Float.self)
            for d in detector.process(UnsafeBufferPointer(start: p, count: n)) { onDetection?(WatermarkScan.segment(d, offset: offset ?? 0)) }
        }

        func finish() throws -> [DetectionReport.Segment] {
            if let r = resampler, let tail = try r.convert(nil) { push(tail, onDetection: nil) }
            return detector.finish().map { WatermarkScan.segment($0, offset: offset ?? 0) }
        }
    }

    /// The video side of a scan: decoder and VideoMark's detector on each picture's luma, at the
    /// picture's presentation time.
    private final class VideoPart {
        let info: StreamInfo
        let decoder: Decoder
        let detector: VideoMarkDetector
        private var converter: Scaler?
        private var first: Double?
        private var last = 0.0
        private var frames = 0

        init(stream: StreamInfo, decoder: Decoder, key: WatermarkKey) {
            info = stream
            self.decoder = decoder
            detector = VideoMarkDetector(key: key)
        }

        var duration: Double {
            guard let f = first, frames > 1 else { return 0 }
            return (last - f) * Double(frames) / Double(frames - 1)
        }

        func drain(origin: Double, onDetection: ((DetectionReport.Segment) -> Void)?) throws {
            while true {
                let r: CodecReceiveResult<Frame>
                do { r = try decoder.receive() } catch { continue }
                guard case .output(let f) = r else { return }
                let ts = f.bestEffortTimestamp != MediaTime.noPTS ? f.bestEffortTimestamp : f.pts
                let t = (MediaTime.seconds(ts, info.timeBase) ?? (last + 1.0 / 30 + origin)) - origin
                var frame = f
                let layout: PixelLayout
                if let l = VisibleLabelProcessor.pixelLayout(f) { layout = l } else {
                    if converter == nil || !converter!.matches(f) {
                        converter = try Scaler(from: f.width, f.height, f.pixelFormat, to: f.width, f.height, AV_PIX_FMT_YUV420P)
                    }
                    frame = try converter!.convert(f)
                    layout = .yuv420p
                }
                guard let luma = frame.plane(0) else { continue }
                let plane = LumaPlane(base: UnsafeMutableRawPointer(luma), width: frame.width, height: frame.height,
                                      stride: frame.linesize(0), bitDepth: layout.bitDepth, msbAligned: layout.msbAligned)
                if first == nil { first = t }
                last = t
                frames += 1
                // A picture too small to carry the mark is not an error for detection: skipped.
                guard let closed = try? detector.process(plane, time: t) else { continue }
                for d in closed { onDetection?(WatermarkScan.segment(d)) }
            }
        }

        func finish() -> [DetectionReport.Segment] {
            _ = detector.finish()
            return detector.detections.map { WatermarkScan.segment($0) }
        }
    }
}
