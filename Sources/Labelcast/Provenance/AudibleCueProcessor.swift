import CFFmpeg
import Foundation
import MediaIO

/// The audible label: at the start of each synthetic segment (and, with `cue.every`, as
/// reminders while it lasts), GB 45438's Morse "AI" rhythm (·− ··) as a sine tone or the
/// spoken prompt, mixed over the programme, which is ducked under it for the cue's length.
/// Samples are changed in place: the stream's timing never changes. The spoken prompt is
/// resampled once, here, to the lane's rate.
///
/// Segment starts are found in the frame itself (`SyntheticTimeline.nextBoundary`), so a cue
/// starts on the exact sample of the boundary, not on the next frame. Takes planar float
/// (`AV_SAMPLE_FMT_FLTP`) frames. Runs on the audio lane's process queue only.
public final class AudibleCueProcessor: FrameProcessor, @unchecked Sendable {
    public let cue: AudibleCue
    private let timeline: SyntheticTimeline
    private let sampleRate: Double
    /// Start times (media time) of cues still playing.
    private var active: [Double] = []
    private var lastCueStart = -Double.infinity
    private var wasSynthetic = false
    private let amplitude: Double
    private let duckGain: Double
    /// The spoken prompt at the lane's rate (peak 1), or empty for the Morse tone.
    private let speech: [Float]
    /// Start of the synthetic segment in progress (reminders count from it).
    private var segmentStart: Double?
    /// Programme gain ramps (seconds) and the tone's on/off ramp, so nothing clicks.
    private let duckAttack = 0.01, duckRelease = 0.03, toneRamp = 0.005

    public convenience init(cue: AudibleCue, format: AudioStreamFormat, timeline: SyntheticTimeline) {
        self.init(cue: cue, sampleRate: format.sampleRate, timeline: timeline)
    }

    /// `sampleRate` is the lane's; a frame that says its own rate is timed by that.
    public init(cue: AudibleCue, sampleRate: Int, timeline: SyntheticTimeline) {
        self.cue = cue
        self.timeline = timeline
        self.sampleRate = Double(sampleRate)
        amplitude = pow(10, cue.levelDB / 20)
        duckGain = pow(10, -cue.duckDB / 20)
        speech = cue.voice.map { Self.resample($0.samples, from: Double($0.sampleRate), to: Double(sampleRate)) } ?? []
    }

    /// Cubic (Catmull-Rom) interpolation: speech has little above eSpeak NG's 11 kHz Nyquist,
    /// so this is clean when upsampling to 44.1/48 kHz, the usual case.
    static func resample(_ x: [Float], from inRate: Double, to outRate: Double) -> [Float] {
        guard !x.isEmpty, inRate > 0, outRate > 0 else { return [] }
        if inRate == outRate { return x }
        let n = Int((Double(x.count) * outRate / inRate).rounded())
        func at(_ i: Int) -> Double { Double(x[min(max(i, 0), x.count - 1)]) }
        var out = [Float](repeating: 0, count: n)
        for j in 0..<n {
            let pos = Double(j) * inRate / outRate
            let i = Int(pos), f = pos - Double(i)
            let p0 = at(i - 1), p1 = at(i), p2 = at(i + 1), p3 = at(i + 2)
            let v = p1 + 0.5 * f * (p2 - p0 + f * (2 * p0 - 5 * p1 + 4 * p2 - p3 + f * (3 * (p1 - p2) + p3 - p0)))
            out[j] = Float(v)
        }
        return out
    }

    public func process(_ lf: LaneFrame) throws -> ProcessResult {
        let frame = lf.frame
        let n = frame.sampleCount
        guard n > 0 else { return .emit([lf]) }
        let rate = frame.sampleRate > 0 ? Double(frame.sampleRate) : sampleRate
        let t0 = lf.mediaTime, t1 = t0 + Double(n) / rate
        findSegmentStarts(from: t0, to: t1, sampleDuration: 1 / rate)
        active.removeAll { $0 + cue.duration + duckRelease <= t0 }
        guard !active.isEmpty, active.contains(where: { $0 < t1 }) else { return .emit([lf]) }

        guard frame.sampleFormat == AV_SAMPLE_FMT_FLTP else {
            throw MediaError(call: "audible cue", code: 0, message: "expects planar float audio, got format \(frame.sampleFormat.rawValue)")
        }
        try frame.makeWritable()
        for c in 0..<frame.channelCount {
            guard let raw = frame.audioChannel(c) else { continue }
            let samples = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: Float.self)
            for i in 0..<n {
                let t = t0 + Double(i) / rate
                var gain = 1.0, tone = 0.0
                for start in active {
                    let dt = t - start
                    guard dt >= 0, dt < cue.duration + duckRelease else { continue }
                    gain = min(gain, duck(dt))
                    tone += speech.isEmpty ? toneSample(dt) : speechSample(dt, rate: sampleRate)
                }
                if gain == 1 && tone == 0 { continue }
                let mixed = Double(samples[i]) * gain + tone
                samples[i] = Float(max(-1, min(1, mixed)))
            }
        }
        lf.labeled = true
        lf.layers.insert(.cue)
        return .emit([lf])
    }

    public func finish() throws -> [LaneFrame] { [] }

    /// Adds a cue at every place in [t0, t1) where the Timeline turns synthetic, and at each
    /// reminder (`cue.every` after a segment's start) that falls inside the segment.
    private func findSegmentStarts(from t0: Double, to t1: Double, sampleDuration: Double) {
        if !wasSynthetic && timeline.isSynthetic(at: t0) { startSegment(at: t0) }
        var t = t0
        while let b = timeline.nextBoundary(after: t), b < t1 {
            if timeline.isSynthetic(at: b) { startSegment(at: b) } else { addReminders(until: b) }
            t = b
        }
        wasSynthetic = timeline.isSynthetic(at: t1 - sampleDuration / 2)
        if wasSynthetic { addReminders(until: t1) }
    }

    private func startSegment(at t: Double) {
        segmentStart = t
        addCue(at: t)
    }

    /// Reminders due before `end` since the current segment's last cue.
    private func addReminders(until end: Double) {
        guard let every = cue.every, let start = segmentStart else { return }
        var k = ((lastCueStart - start) / every + 1e-9).rounded(.down) + 1
        while start + k * every < end {
            let at = start + k * every
            if timeline.isSynthetic(at: at) { addCue(at: at) }
            k += 1
        }
    }

    /// The spoken prompt `dt` seconds into a cue, at the cue's level.
    private func speechSample(_ dt: Double, rate: Double) -> Double {
        let i = Int((dt * rate).rounded(.down))
        guard i >= 0, i < speech.count else { return 0 }
        return amplitude * Double(speech[i])
    }

    private func addCue(at t: Double) {
        // One cue per segment start, even if a chunk boundary repeats the question.
        guard t > lastCueStart + 1e-6 else { return }
        lastCueStart = t
        active.append(t)
    }

    /// Programme gain `dt` seconds into a cue: down over `duckAttack`, back up after the cue.
    private func duck(_ dt: Double) -> Double {
        let depth: Double
        if dt < duckAttack { depth = dt / duckAttack } else if dt < cue.duration { depth = 1 } else {
            depth = max(0, 1 - (dt - cue.duration) / duckRelease)
        }
        return 1 - depth * (1 - duckGain)
    }

    /// The tone `dt` seconds into a cue: on during each Morse element, with raised-cosine edges.
    private func toneSample(_ dt: Double) -> Double {
        for e in cue.elements where dt >= e.start && dt < e.end {
            let edge = min(1, (dt - e.start) / toneRamp, (e.end - dt) / toneRamp)
            let envelope = 0.5 - 0.5 * cos(Double.pi * edge)
            return amplitude * envelope * sin(2 * Double.pi * cue.frequency * dt)
        }
        return 0
    }
}

