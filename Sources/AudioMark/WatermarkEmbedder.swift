#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adds the keyed watermark to one audio stream, in place, as it flows.
///
/// How: every 10 ms a 20 ms sqrt-Hann frame of the channel mix is transformed; the 52 bands of
/// 125 Hz between 500 and 7000 Hz are scaled up or down by a small keyed amount (first frame of a
/// 10 ms pair one way, second frame the other way), the *change* is transformed back and
/// overlap-added. The output is `input + change`, never a resynthesis, so where the change is
/// zero the output is bit-identical to the input. The change is proportional to the host itself
/// (loud passages carry a louder mark, masked by them; digital zeros stay exactly zero) and is
/// sized so each frame's mark is ~31 dB below a running loudness reference.
///
/// Threading: not thread-safe; call from one serial queue. Cost: two FFTs of the next power of
/// two above 20 ms per 10 ms of audio, computed once on the channel mix (not per channel), plus
/// O(channels) per sample. About 1000x real time for 48 kHz stereo on one core (see the bench).
public final class WatermarkEmbedder {
    public let sampleRate: Int
    public let channels: Int
    public let payload: WatermarkPayload

    /// Output lags input by exactly this many sample frames: one analysis window (20 ms) plus 2.
    public let latencyFrames: Int

    // Tuning, measured with Benchmarks/watermark-sweep.sh (see the README there).
    /// Mark energy relative to the loudness reference (about -30.5 dB before windowing losses).
    static let relativeMarkEnergy: Double = 0.00089
    /// How much the per-frame mark follows the frame's own energy (1) vs the running reference (0).
    /// Less than 1 gives quiet frames a relatively stronger mark, which buys robustness where it
    /// is cheapest in SNR terms, while loud frames stay well below masking.
    static let loudnessFollow: Double = 0.3
    /// Ceiling on the per-band amplitude change (0.3 = +2.3/-2.3 dB), the audibility guard for
    /// quiet frames.
    static let maxBandGain: Double = 0.3
    /// Running reference: one-pole average of frame energy with a ~2 s time constant.
    static let referenceSmoothing: Double = 0.995

    private let window: [Float]
    private let windowLength: Int
    private let fftSize: Int
    private let fft: RealFFT
    private let binBand: [Int16]
    private let bandSigns: [Float]
    private let rampLength: Int

    private let capacity: Int
    private let mask: Int
    private var input: [[Float]]
    private var markBuffer: [[Float]]
    private var mix: [Float]
    private var activity: [UInt8]
    private var inCount = 0
    private var outCount = 0
    private var nextFrame = 0
    private var reference: Double = 0
    /// Activity changes (sample index, new state); the state before the first entry is inactive.
    private var transitions: [(index: Int, active: Bool)] = []
    private var lastActive = false

    private var frame: [Float]
    private var spectrumRe: [Float]
    private var spectrumIm: [Float]
    private var gains: [Float]
    private var synth: [Float]

    /// Creates an embedder for one stream.
    /// - Throws: `WatermarkError` for a sample rate outside 8000...192000 Hz or 0/too many channels.
    ///   Below 16 kHz the upper bands do not exist and robustness degrades (detection needs longer windows).
    public init(sampleRate: Int, channels: Int, key: WatermarkKey, payload: WatermarkPayload) throws {
        guard (8000...192_000).contains(sampleRate) else { throw WatermarkError.unsupportedSampleRate(sampleRate) }
        guard (1...64).contains(channels) else { throw WatermarkError.unsupportedChannelCount(channels) }
        self.sampleRate = sampleRate
        self.channels = channels
        self.payload = payload
        windowLength = Int((MarkGrid.windowSeconds * Double(sampleRate)).rounded())
        var n = 8
        while n < windowLength { n <<= 1 }
        fftSize = n
        fft = RealFFT(size: n)
        window = MarkGrid.sqrtHann(windowLength)
        binBand = (0...(n / 2)).map { Int16(MarkGrid.band(ofHz: Double($0) * Double(sampleRate) / Double(n))) }
        let layout = MarkLayout(key: key)
        bandSigns = layout.bandSigns(coded: PayloadCodec(key: key).encode(payload))
        latencyFrames = windowLength + 2
        rampLength = max(1, Int((0.010 * Double(sampleRate)).rounded()))
        var cap = 1
        while cap < 2 * (latencyFrames + n) + WatermarkEmbedder.maxSubChunk { cap <<= 1 }
        capacity = cap
        mask = cap - 1
        input = Array(repeating: [Float](repeating: 0, count: cap), count: channels)
        markBuffer = Array(repeating: [Float](repeating: 0, count: cap), count: channels)
        mix = [Float](repeating: 0, count: cap)
        activity = [UInt8](repeating: 0, count: cap)
        frame = [Float](repeating: 0, count: n)
        spectrumRe = [Float](repeating: 0, count: n / 2 + 1)
        spectrumIm = [Float](repeating: 0, count: n / 2 + 1)
        gains = [Float](repeating: 0, count: MarkGrid.bandCount)
        synth = [Float](repeating: 0, count: n)
    }

    private static let maxSubChunk = 512

    private func frameStart(_ k: Int) -> Int { k * sampleRate / MarkGrid.framesPerSecond }

    /// Marks `frameCount` frames of planar Float32 audio in place (see the type's documentation).
    /// The output is the input delayed by `latencyFrames`, with the mark added where the input of
    /// this call was `active`; the mark fades in over 10 ms after an inactive-to-active change
    /// and out over the 10 ms before an active-to-inactive change, both inside the active range.
    /// Chunking does not change the result. Cost: O(frameCount · channels) plus the frame FFTs.
    public func process(_ planes: [UnsafeMutablePointer<Float>], frameCount: Int, active: Bool) {
        precondition(planes.count == channels, "expected \(channels) planes, got \(planes.count)")
        if active != lastActive {
            transitions.append((inCount, active))
            lastActive = active
        }
        var done = 0
        while done < frameCount {
            let m = min(WatermarkEmbedder.maxSubChunk, frameCount - done)
            // 1. Take the input into the delay line.
            for c in 0..<channels {
                let src = planes[c] + done
                input[c].withUnsafeMutableBufferPointer { buf in
                    for i in 0..<m { buf[(inCount + i) & mask] = src[i] }
                }
            }
            let flag: UInt8 = active ? 1 : 0
            let scale = 1 / Float(channels)
            for i in 0..<m {
                let p = (inCount + i) & mask
                activity[p] = flag
                if channels == 1 {
                    mix[p] = input[0][p]
                } else {
                    var s: Float = 0
                    for c in 0..<channels { s += input[c][p] }
                    mix[p] = s * scale
                }
            }
            inCount += m
            // 2. Every frame whose window is now complete adds its share of the mark.
            while frameStart(nextFrame) + windowLength <= inCount {
                processFrame(nextFrame)
                nextFrame += 1
            }
            // 3. Emit the delayed, marked samples into the same positions.
            emit(planes, at: done, count: m)
            done += m
        }
    }

    /// Ends the stream: returns the last `latencyFrames` frames (planar, [channel][frame]), with
    /// the mark faded out if the stream ended while active, and resets the embedder so it can
    /// start a new stream.
    public func drain() -> [[Float]] {
        var tail = Array(repeating: [Float](repeating: 0, count: latencyFrames), count: channels)
        let lat = latencyFrames
        tail.withUnsafeMutableBufferPointer { t in
            var ptrs = [UnsafeMutablePointer<Float>]()
            for c in 0..<channels { ptrs.append(t[c].withUnsafeMutableBufferPointer { $0.baseAddress! }) }
            process(ptrs, frameCount: lat, active: false)
        }
        reset()
        return tail
    }

    private func reset() {
        for c in 0..<channels {
            for i in 0..<capacity { input[c][i] = 0; markBuffer[c][i] = 0 }
        }
        for i in 0..<capacity { mix[i] = 0; activity[i] = 0 }
        inCount = 0; outCount = 0; nextFrame = 0; reference = 0
        transitions.removeAll(); lastActive = false
    }

    private func processFrame(_ k: Int) {
        let start = frameStart(k)
        let w = windowLength
        var anyActive = false
        var energy: Double = 0
        for i in 0..<w {
            let p = (start + i) & mask
            if activity[p] != 0 { anyActive = true }
            let v = mix[p] * window[i]
            frame[i] = v
            energy += Double(v * v)
        }
        // The loudness reference follows every frame, marked or not, so a segment that starts
        // in the middle of a programme gets the same mark strength as one that does not.
        if energy > 0 {
            reference = reference == 0 ? energy
                : WatermarkEmbedder.referenceSmoothing * reference + (1 - WatermarkEmbedder.referenceSmoothing) * energy
        }
        guard anyActive, energy > 0 else { return }
        for i in w..<fftSize { frame[i] = 0 }
        let n = fftSize
        frame.withUnsafeBufferPointer { f in
            spectrumRe.withUnsafeMutableBufferPointer { re in
                spectrumIm.withUnsafeMutableBufferPointer { im in
                    fft.forward(f.baseAddress!, re: re.baseAddress!, im: im.baseAddress!)
                }
            }
        }
        var bandEnergy: Double = 0
        for b in 0...(n / 2) where binBand[b] >= 0 {
            bandEnergy += Double(spectrumRe[b] * spectrumRe[b] + spectrumIm[b] * spectrumIm[b])
        }
        bandEnergy *= 2 / Double(n)   // Parseval: back to time-domain energy units
        guard bandEnergy > 0 else { return }
        let follow = WatermarkEmbedder.loudnessFollow
        let target = WatermarkEmbedder.relativeMarkEnergy * pow(energy, follow) * pow(reference, 1 - follow)
        let g = min(WatermarkEmbedder.maxBandGain, (target / bandEnergy).squareRoot())
        let logGain = Float(log1p(g))
        let slot = (k / 2) % MarkGrid.pairsPerPeriod
        let direction: Float = k % 2 == 0 ? 1 : -1
        for b in 0..<MarkGrid.bandCount {
            gains[b] = expm1(logGain * direction * bandSigns[slot * MarkGrid.bandCount + b])
        }
        for b in 0...(n / 2) {
            let band = Int(binBand[b])
            let gb: Float = band >= 0 ? gains[band] : 0
            spectrumRe[b] *= gb
            spectrumIm[b] *= gb
        }
        spectrumRe.withUnsafeBufferPointer { re in
            spectrumIm.withUnsafeBufferPointer { im in
                synth.withUnsafeMutableBufferPointer { s in
                    fft.inverse(re: re.baseAddress!, im: im.baseAddress!, output: s.baseAddress!)
                }
            }
        }
        for i in 0..<w { synth[i] *= window[i] }
        if channels == 1 {
            markBuffer[0].withUnsafeMutableBufferPointer { mb in
                for i in 0..<w { mb[(start + i) & mask] += synth[i] }
            }
            return
        }
        // One mark, shaped from the mix, shared by all channels and scaled to each channel's own
        // energy in this frame: a silent channel gets none, a quiet one proportionally less, and a
        // mono downmix receives the mark coherently.
        for c in 0..<channels {
            var ec: Double = 0
            input[c].withUnsafeBufferPointer { x in
                for i in 0..<w {
                    let v = x[(start + i) & mask] * window[i]
                    ec += Double(v * v)
                }
            }
            guard ec > 0 else { continue }
            let a = Float(min(4, (ec / energy).squareRoot()))
            markBuffer[c].withUnsafeMutableBufferPointer { mb in
                for i in 0..<w { mb[(start + i) & mask] += a * synth[i] }
            }
        }
    }

    /// Mark gain (0...1) for the input sample at `n`: zero outside active runs, raised-cosine
    /// ramps at the run's edges.
    private func markGain(_ n: Int) -> Float {
        while transitions.count >= 2 && transitions[1].index <= n { transitions.removeFirst() }
        guard let first = transitions.first, first.index <= n, first.active else { return 0 }
        let runStart = first.index
        let runEnd = transitions.count >= 2 ? transitions[1].index : Int.max
        let d = min(Double(n - runStart) + 0.5, runEnd == Int.max ? .infinity : Double(runEnd - n) - 0.5)
        if d >= Double(rampLength) { return 1 }
        return Float(0.5 - 0.5 * cos(Double.pi * d / Double(rampLength)))
    }

    private func emit(_ planes: [UnsafeMutablePointer<Float>], at offset: Int, count m: Int) {
        let lat = latencyFrames
        for j in 0..<m {
            let n = outCount + j - lat
            if n < 0 {
                for c in 0..<channels { planes[c][offset + j] = 0 }
                continue
            }
            let p = n & mask
            let g = markGain(n)
            for c in 0..<channels {
                let x = input[c][p]
                let mk = markBuffer[c][p]
                markBuffer[c][p] = 0
                // Digital silence stays digital silence, sample by sample.
                planes[c][offset + j] = x == 0 ? 0 : x + g * mk
            }
        }
        outCount += m
    }
}
