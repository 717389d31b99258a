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
    private var lastTrace: FrameTrace?
    /// Media time just past the last sample handed on.
    private var outputEnd: Double?
    /// The samples entered into the embedder and not handed on yet, as runs of media time
    /// (start, sample count, samples of the run already handed on), oldest first. The output is
    /// the input delayed by the look-ahead, so it is timed from these: each output sample keeps
    /// the media time it came in with, and an output chunk that spans a gap in the input's
    /// timestamps goes out as two frames, one each side of it (the encode stage fills the gap
    /// between them). Timing a chunk from its input frame less the look-ahead put the samples
    /// before a gap a whole gap late, after the silence that fills it.
    private var pending: [(start: Double, count: Int, used: Int)] = []
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
        pending.append((lf.mediaTime, n, 0))
        // Hide the look-ahead: the first `latency` samples out are priming, not programme.
        let skip = min(primingLeft, n)
        primingLeft -= skip
        return .emit(try handOn(frame, from: skip, count: n - skip, trace: lf.trace, layers: lf.layers))
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
        return try handOn(frame, from: 0, count: count, trace: trace, layers: [])
    }

    /// The `count` output samples of `frame` from `offset` on, as frames of contiguous media
    /// time (one, unless they span a gap in the input), each with the watermark layer when
    /// some of its samples were marked. Synthetic is judged at each frame's own first sample.
    private func handOn(_ frame: Frame, from offset: Int, count: Int, trace: FrameTrace, layers: LabelLayers) throws -> [LaneFrame] {
        var runs: [(start: Double, count: Int)] = []
        var left = count
        while left > 0, let run = pending.first {
            let take = min(left, run.count - run.used)
            let start = run.start + Double(run.used) / sampleRate
            if let last = runs.last, abs(last.start + Double(last.count) / sampleRate - start) < 0.5 / sampleRate {
                runs[runs.count - 1].count += take
            } else {
                runs.append((start, take))
            }
            pending[0].used += take
            if pending[0].used == run.count { pending.removeFirst() }
            left -= take
        }
        if left > 0 {
            // Not reached (the embedder hands out what went in): timed on from the last run.
            let start = runs.last.map { $0.start + Double($0.count) / sampleRate } ?? outputEnd ?? trace.mediaTime
            if runs.isEmpty { runs.append((start, left)) } else { runs[runs.count - 1].count += left }
        }
        var out: [LaneFrame] = []
        var pos = offset
        for run in runs {
            let piece = pos == 0 && run.count == frame.sampleCount ? frame : try Self.slice(frame, from: pos, count: run.count)
            let lf = LaneFrame(frame: piece, mediaTime: run.start, synthetic: timeline.isSynthetic(at: run.start), trace: trace)
            lf.layers = layers
            outputEnd = run.start + Double(run.count) / sampleRate
            setLayers(lf, to: outputEnd!)
            out.append(lf)
            pos += run.count
        }
        return out
    }

    /// `count` samples of a planar float frame from `start` on, as a frame of their own.
    private static func slice(_ frame: Frame, from start: Int, count: Int) throws -> Frame {
        let channels = frame.channelCount
        let piece = try Frame.audio(samples: count, format: AV_SAMPLE_FMT_FLTP, channels: channels, sampleRate: frame.sampleRate)
        for c in 0..<channels {
            let src = UnsafeMutableRawPointer(frame.audioChannel(c)!).assumingMemoryBound(to: Float.self) + start
            UnsafeMutableRawPointer(piece.audioChannel(c)!).assumingMemoryBound(to: Float.self).update(from: src, count: count)
        }
        return piece
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
