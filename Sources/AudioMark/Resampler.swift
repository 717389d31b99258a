#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A windowed-sinc (Kaiser, β = 8) rational resampler for whole buffers, used by tests and the
/// bench to bring audio to `WatermarkDetector.analysisSampleRate`. The CLI uses libswresample
/// instead. Cost: ~32/min(1, out/in) multiply-adds per output sample; filter tables are
/// built per call (a few thousand coefficients).
public enum Resampler {
    /// Resamples `input` from `from` Hz to `to` Hz; output length is `input.count * to / from`.
    public static func resample(_ input: [Float], from: Int, to: Int) -> [Float] {
        precondition(from > 0 && to > 0)
        if from == to { return input }
        var a = from, b = to
        while b != 0 { (a, b) = (b, a % b) }
        let up = to / a, down = from / a
        let ratio = min(1.0, Double(to) / Double(from))
        let cutoff = 0.5 * ratio * 0.92                     // cycles per input sample
        let half = Int((16.0 / ratio).rounded(.up))          // taps each side, in input samples
        let taps = 2 * half
        func bessel0(_ x: Double) -> Double {
            var sum = 1.0, term = 1.0, k = 1.0
            while term > 1e-12 * sum { term *= (x / (2 * k)) * (x / (2 * k)); sum += term; k += 1 }
            return sum
        }
        let beta = 8.0, norm = bessel0(beta)
        // table[p][j]: weight of input sample (i0 - half + 1 + j) for phase p (offset p/up).
        var table = [Float](repeating: 0, count: up * taps)
        for p in 0..<up {
            let frac = Double(p) / Double(up)
            for j in 0..<taps {
                let tau = Double(j - half + 1) - frac
                let s = tau == 0 ? 1.0 : sin(2 * Double.pi * cutoff * tau) / (Double.pi * tau)
                let r = tau / Double(half)
                let w = abs(r) >= 1 ? 0 : bessel0(beta * (1 - r * r).squareRoot()) / norm
                table[p * taps + j] = Float(s * w * (tau == 0 ? 2 * cutoff : 1))
            }
        }
        let outCount = input.count * up / down
        var out = [Float](repeating: 0, count: outCount)
        input.withUnsafeBufferPointer { x in
            table.withUnsafeBufferPointer { t in
                for n in 0..<outCount {
                    let pos = n * down
                    let i0 = pos / up, p = pos % up
                    let first = i0 - half + 1
                    var acc: Float = 0
                    let lo = max(0, -first), hi = min(taps, x.count - first)
                    if lo < hi {
                        let tb = p * taps
                        for j in lo..<hi { acc += t[tb + j] * x[first + j] }
                    }
                    out[n] = acc
                }
            }
        }
        return out
    }
}
