import Foundation
@testable import AudioMark
import MarkCore

/// Deterministic test material: music-like (decaying harmonic chords, noise-burst drums, a
/// sweep) so every band of the mark has something to ride on.
enum TestSignals {
    static func music(seconds: Double, rate: Int, seed: UInt64 = 1) -> [Float] {
        let n = Int(seconds * Double(rate))
        var out = [Float](repeating: 0, count: n)
        var g = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func noise() -> Float {
            g ^= g << 13; g ^= g >> 7; g ^= g << 17
            return Float(Int64(bitPattern: g) % 1_000_000) / 1_000_000
        }
        let roots: [Double] = [220, 246.9, 196, 261.6, 174.6]
        let fs = Double(rate)
        for i in 0..<n {
            let t = Double(i) / fs
            let chord = Int(t / 0.5)
            let tt = t - Double(chord) * 0.5
            let r = roots[chord % roots.count]
            var v = 0.0
            for m in [1.0, 1.25, 1.5] {
                for h in 1...8 { v += 0.06 / Double(h) * sin(2 * Double.pi * r * m * Double(h) * tt) }
            }
            v *= exp(-tt * 2)
            let beat = t.truncatingRemainder(dividingBy: 0.25)
            var s = Float(v)
            if beat < 0.06 { s += 0.25 * noise() * Float(exp(-beat * 40)) }
            s += 0.03 * Float(sin(2 * Double.pi * (300 * t + 400 * t * t)))
            out[i] = s
        }
        return out
    }

    /// Interleaves `mono` into `channels` channels with a little per-channel difference.
    static func interleave(_ mono: [Float], channels: Int) -> [Float] {
        var out = [Float](repeating: 0, count: mono.count * channels)
        for i in 0..<mono.count {
            for c in 0..<channels { out[i * channels + c] = mono[i] * (1 - 0.1 * Float(c % 3)) }
        }
        return out
    }

    /// Runs an embedder over interleaved audio in chunks of the given sizes (cycled), with
    /// `active` over `activeRange`; returns output aligned with the input (latency removed).
    static func embed(_ x: [Float], rate: Int, channels: Int, key: WatermarkKey = .demo, id: UInt32,
                      activeRange: Range<Int>? = nil, chunks: [Int] = [4096]) throws -> [Float] {
        let e = try WatermarkEmbedder(sampleRate: rate, channels: channels, key: key, payload: WatermarkPayload(id: id))
        let frames = x.count / channels
        var out = [Float]()
        out.reserveCapacity(x.count + e.latencyFrames * channels)
        var pos = 0, ci = 0
        while pos < frames {
            var n = min(chunks[ci % chunks.count], frames - pos)
            ci += 1
            if let r = activeRange {
                if pos < r.lowerBound { n = min(n, r.lowerBound - pos) } else if pos < r.upperBound { n = min(n, r.upperBound - pos) }
            }
            let active = activeRange?.contains(pos) ?? true
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: channels * n)
            defer { buffer.deallocate() }
            let ptrs = (0..<channels).map { buffer + $0 * n }
            for c in 0..<channels { for i in 0..<n { ptrs[c][i] = x[(pos + i) * channels + c] } }
            e.process(ptrs, frameCount: n, active: active)
            for i in 0..<n { for c in 0..<channels { out.append(ptrs[c][i]) } }
            pos += n
        }
        let tail = e.drain()
        for i in 0..<e.latencyFrames { for c in 0..<channels { out.append(tail[c][i]) } }
        return Array(out[(e.latencyFrames * channels)...])
    }

    /// Mono downmix resampled to the detector's rate, then detected.
    static func detect(_ y: [Float], rate: Int, channels: Int, key: WatermarkKey = .demo) -> [WatermarkDetection] {
        let frames = y.count / channels
        var mono = [Float](repeating: 0, count: frames)
        for i in 0..<frames {
            var s: Float = 0
            for c in 0..<channels { s += y[i * channels + c] }
            mono[i] = s / Float(channels)
        }
        let d = WatermarkDetector(key: key)
        _ = d.process(Resampler.resample(mono, from: rate, to: WatermarkDetector.analysisSampleRate))
        return d.finish()
    }

    /// `x` plus white Gaussian noise `snr` dB below its power (deterministic for a seed).
    static func addNoise(_ x: [Float], snr: Double, seed: UInt8 = 7) -> [Float] {
        let power = x.reduce(0) { $0 + Double($1 * $1) } / Double(max(1, x.count))
        let sigma = (power / pow(10, snr / 10)).squareRoot()
        var g = KeyedGenerator(seed: [UInt8](repeating: seed, count: 32))
        return x.map { v in
            let u1 = Double(g.next() >> 11 | 1) / Double(1 << 53), u2 = Double(g.next() >> 11) / Double(1 << 53)
            return v + Float(sigma * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
        }
    }

    /// Runs a fresh detector over mono audio already at the detector's rate.
    static func detectMono(_ mono: [Float], key: WatermarkKey = .demo) -> (found: [WatermarkDetection], detector: WatermarkDetector) {
        let d = WatermarkDetector(key: key)
        _ = d.process(mono)
        return (d.finish(), d)
    }

    static func snr(_ x: [Float], _ y: [Float]) -> Double {
        var s = 0.0, d = 0.0
        for i in 0..<x.count { s += Double(x[i] * x[i]); d += Double((y[i] - x[i]) * (y[i] - x[i])) }
        return 10 * log10(s / d)
    }
}
