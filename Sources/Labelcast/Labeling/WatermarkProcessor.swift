import AudioMark
import CFFmpeg
import MediaIO

/// What the audio watermark carries and with which key (`--key-file`, `--payload-id`).
public struct WatermarkSettings: Sendable {
    public var key: WatermarkKey
    public var payloadID: UInt32
    /// True when no key was given and the public demo key is in use.
    public var usesDemoKey: Bool
    public init(key: WatermarkKey, payloadID: UInt32, usesDemoKey: Bool = false) {
        self.key = key; self.payloadID = payloadID; self.usesDemoKey = usesDemoKey
    }
}

/// The audio lane's labeling: adds the keyed, inaudible watermark to exactly the synthetic
/// media time, splitting each chunk at segment boundaries so the mark starts and stops on the
/// boundary sample (the embedder ramps it inside the range: no click).
///
/// The embedder looks ahead `latencyFrames` samples, so its output lags its input by that much.
/// This processor hides the lag: it drops the first `latencyFrames` output samples (silence
/// primed into the look-ahead) and releases the held tail at the end, so the lane's samples
/// keep their media time and count. Runs on the audio lane's process queue only.
public final class WatermarkProcessor: FrameProcessor, @unchecked Sendable {
    private let embedder: WatermarkEmbedder
    private let timeline: SyntheticTimeline
    private let sampleRate: Double
    private let channels: Int
    private var primingLeft: Int
    /// Media time of the first sample the lane gave us: the content the first output carries.
    private var firstMediaTime: Double?
    private var lastTrace: FrameTrace?
    private var anyActiveSinceEmit = false
    /// Media time just past the last sample handed on.
    private var outputEnd: Double?
    /// Spans of media time whose samples went into the embedder with the mark on, as entered:
    /// an output chunk (which lags its input by the look-ahead) carries the `.watermark`
    /// layer when some of its samples were marked. Pruned as the output moves past them.
    private var markedSpans: [(start: Double, end: Double)] = []

    public init(settings: WatermarkSettings, format: AudioStreamFormat, timeline: SyntheticTimeline) throws {
        embedder = try WatermarkEmbedder(sampleRate: format.sampleRate, channels: format.channels, key: settings.key,
                                         payload: WatermarkPayload(synthetic: true, id: settings.payloadID))
        self.timeline = timeline
        sampleRate = Double(format.sampleRate)
        channels = format.channels
        primingLeft = embedder.latencyFrames
    }

    /// Samples of look-ahead the embedder holds (its added latency, ≤ 50 ms).
    public var latencySamples: Int { embedder.latencyFrames }

    public func process(_ lf: LaneFrame) throws -> ProcessResult {
        let frame = lf.frame
        let n = frame.sampleCount
        guard n > 0 else { return .emit([]) }
        guard frame.sampleFormat == AV_SAMPLE_FMT_FLTP, frame.channelCount == channels else {
            throw MediaError(call: "watermark", code: 0, message: "expected planar float with \(channels) channels")
        }
        try frame.makeWritable()
        if firstMediaTime == nil { firstMediaTime = lf.mediaTime }
        lastTrace = lf.trace
        let planes = (0..<channels).map { UnsafeMutableRawPointer(frame.audioChannel($0)!).assumingMemoryBound(to: Float.self) }
        // Split at every boundary of the Timeline that falls inside this chunk.
        var pos = 0
        var labeled = false
        while pos < n {
            let t = lf.mediaTime + Double(pos) / sampleRate
            let active = timeline.isSynthetic(at: t)
            var end = n
            if let b = timeline.nextBoundary(after: t) {
                // Compared as a Double: a boundary far beyond this chunk (a segment at 1e15 s is
                // valid) is more samples than an Int holds.
                let boundary = ((b - lf.mediaTime) * sampleRate).rounded(.up)
                if boundary > Double(pos) && boundary < Double(n) { end = Int(boundary) }
            }
            embedder.process(planes.map { $0 + pos }, frameCount: end - pos, active: active)
            if active { noteMarked(from: t, to: lf.mediaTime + Double(end) / sampleRate) }
            labeled = labeled || active
            pos = end
        }
        lf.labeled = labeled
        // Hide the look-ahead: the first `latency` samples out are priming, not programme.
        if primingLeft >= n {
            primingLeft -= n
            return .emit([])
        }
        if primingLeft > 0 {
            let keep = n - primingLeft
            let trimmed = try Frame.audio(samples: keep, format: AV_SAMPLE_FMT_FLTP, channels: channels, sampleRate: frame.sampleRate)
            for c in 0..<channels {
                let src = UnsafeMutableRawPointer(frame.audioChannel(c)!).assumingMemoryBound(to: Float.self) + primingLeft
                UnsafeMutableRawPointer(trimmed.audioChannel(c)!).assumingMemoryBound(to: Float.self).update(from: src, count: keep)
            }
            primingLeft = 0
            let out = LaneFrame(frame: trimmed, mediaTime: firstMediaTime ?? lf.mediaTime, synthetic: lf.synthetic, trace: lf.trace)
            outputEnd = out.mediaTime + Double(keep) / sampleRate
            out.layers = lf.layers
            setLayers(out, to: outputEnd!)
            return .emit([out])
        }
        // The samples out lag the samples in by the look-ahead: say so in their media time, so
        // a gap in the input's timestamps shows up (one look-ahead late) where the encode stage
        // looks for it.
        let out = LaneFrame(frame: frame, mediaTime: lf.mediaTime - Double(embedder.latencyFrames) / sampleRate,
                            synthetic: lf.synthetic, trace: lf.trace)
        outputEnd = out.mediaTime + Double(n) / sampleRate
        out.layers = lf.layers
        setLayers(out, to: outputEnd!)
        return .emit([out])
    }

    public func finish() throws -> [LaneFrame] {
        let tail = embedder.drain()
        guard let first = tail.first, !first.isEmpty, let trace = lastTrace else { return [] }
        // When the stream was shorter than the look-ahead, part of the tail is still priming.
        let skip = min(primingLeft, first.count)
        let count = first.count - skip
        guard count > 0 else { return [] }
        let frame = try Frame.audio(samples: count, format: AV_SAMPLE_FMT_FLTP, channels: channels, sampleRate: Int(sampleRate))
        for c in 0..<channels {
            tail[c].withUnsafeBufferPointer { src in
                UnsafeMutableRawPointer(frame.audioChannel(c)!).assumingMemoryBound(to: Float.self).update(from: src.baseAddress! + skip, count: count)
            }
        }
        let out = LaneFrame(frame: frame, mediaTime: outputEnd ?? trace.mediaTime, synthetic: trace.synthetic, trace: trace)
        setLayers(out, to: out.mediaTime + Double(count) / sampleRate)
        return [out]
    }

    private func noteMarked(from a: Double, to b: Double) {
        if let last = markedSpans.last, abs(last.end - a) < 1e-7 {
            markedSpans[markedSpans.count - 1].end = b
        } else {
            markedSpans.append((a, b))
        }
    }

    /// Says on an output chunk [out.mediaTime, end) whether the embedder marked any of its samples.
    private func setLayers(_ out: LaneFrame, to end: Double) {
        let start = out.mediaTime
        markedSpans.removeAll { $0.end < start - 1 }
        let marked = markedSpans.contains { $0.start < end - 1e-9 && $0.end > start + 1e-9 }
        out.labeled = marked
        if marked { out.layers.insert(.watermark) } else { out.layers.remove(.watermark) }
    }
}
