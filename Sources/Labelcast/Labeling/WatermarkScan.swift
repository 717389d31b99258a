import AudioMark
import CFFmpeg
import Foundation
import MediaIO
import Synchronization

/// What `labelcast detect` found: the marked ranges of media time and their payloads.
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
    }
    /// Seconds of audio scanned.
    public var duration: Double
    public var segments: [Segment]
    /// The strongest correlation (z-score) with the key's sync pattern in any window: evidence
    /// that a mark of this key is there even when no payload was read (unmarked audio and other
    /// keys stay below ~5; `WatermarkDetector.presenceThreshold` is 6). A diagnostic, not a
    /// range: a short or badly degraded excerpt of marked audio shows here first.
    public var syncZ: Double?

    enum CodingKeys: String, CodingKey {
        case duration, segments, syncZ = "sync_z"
    }

    public init(duration: Double, segments: [Segment], syncZ: Double? = nil) {
        self.duration = duration
        self.segments = segments
        self.syncZ = syncZ
    }

    /// The `syncZ` at or above which the sync pattern counts as present.
    public static let presenceThreshold = WatermarkDetector.presenceThreshold

    /// No payload was read, but the key's sync pattern is there (see `syncZ`).
    public var syncOnly: Bool {
        segments.isEmpty && (syncZ ?? 0) >= Self.presenceThreshold
    }

    /// One line per range: `START END PAYLOAD CONFIDENCE`, and the word `confirmed` after a
    /// range whose payload was not CRC-verified in it (see `Segment.verified`).
    public var lines: [String] {
        segments.map { String(format: "%.3f %.3f %@ %.1f", $0.start, $0.end, $0.payload, $0.confidence) + ($0.verified ? "" : " confirmed") }
    }
}

/// Reads any input (file, pipe, live URL), decodes its audio, downmixes and resamples it to the
/// detector's rate, and finds the watermark blind. Times are media time from the stream start.
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
        guard let index = demuxer.bestStream(.audio) else {
            throw LabelcastError("input '\(display)' has no audio stream: the watermark is in the audio")
        }
        let info = demuxer.streams[index]
        let decoder = try Decoder(stream: demuxer.stream(index))
        let origin = [demuxer.bestStream(.video), index].compactMap { $0 }
            .compactMap { MediaTime.seconds(demuxer.streams[$0].startTime, demuxer.streams[$0].timeBase) }.min() ?? 0
        let rate = WatermarkDetector.analysisSampleRate
        let detector = WatermarkDetector(key: key)
        var resampler: MediaIO.Resampler?
        var offset: Double?
        var samples = 0
        var pacing: (wall: UInt64, media: Double)?

        func feed(_ frame: Frame) throws {
            if offset == nil {
                offset = max(0, (MediaTime.seconds(frame.pts, info.timeBase) ?? origin) - origin)
            }
            if resampler == nil || !resampler!.matches(frame) {
                resampler = try withUnsafePointer(to: &frame.pointer.pointee.ch_layout) {
                    try MediaIO.Resampler(inputFormat: frame.sampleFormat, inputRate: frame.sampleRate, inputLayout: $0,
                                  outputFormat: AV_SAMPLE_FMT_FLT, outputRate: rate, outputChannels: 1)
                }
            }
            if let out = try resampler!.convert(frame) { push(out) }
        }
        func push(_ out: Frame) {
            let n = out.sampleCount
            samples += n
            let p = UnsafeRawPointer(out.plane(0)!).assumingMemoryBound(to: Float.self)
            for d in detector.process(UnsafeBufferPointer(start: p, count: n)) { onDetection?(Self.segment(d, offset: offset ?? 0)) }
        }
        func drain() throws {
            while true {
                let r: CodecReceiveResult<Frame>
                do { r = try decoder.receive() } catch { continue }
                guard case .output(let f) = r else { return }
                try feed(f)
            }
        }
        readLoop: while true {
            let result: Demuxer.ReadResult
            do { result = try demuxer.read() } catch let e as MediaError {
                throw LabelcastError(PipelineRunner.explainRuntime(e, input: display, output: "-"))
            }
            guard case .packet(let packet) = result else { break readLoop }
            guard packet.streamIndex == index else { continue }
            if realtime && !job.inputIsLive, let t = MediaTime.seconds(packet.dts != MediaTime.noPTS ? packet.dts : packet.pts, info.timeBase) {
                if let start = pacing {
                    let due = start.wall + UInt64(max(0, t - start.media) * 1e9)
                    let now = FrameTrace.now()
                    if due > now { usleep(UInt32(min(1_000_000, (due - now) / 1000))) }
                } else { pacing = (FrameTrace.now(), t) }
            }
            do { while try decoder.send(packet) == .full { try drain() } } catch { continue }
            try drain()
        }
        _ = try? decoder.send(nil)
        try drain()
        if let r = resampler, let tail = try r.convert(nil) { push(tail) }
        let found = detector.finish().map { Self.segment($0, offset: offset ?? 0) }
        return DetectionReport(duration: (Double(samples) / Double(rate) * 1000).rounded() / 1000, segments: found,
                               syncZ: (detector.strongestSync * 100).rounded() / 100)
    }
}
