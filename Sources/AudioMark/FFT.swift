#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Real FFT used by the embedder (host rate) and the detector (analysis rate).
//
// Pure Swift on purpose: AudioMark must not depend on FFmpeg or vDSP, and the sizes
// it needs are small powers of two (256...4096). A real transform of n points is a
// complex radix-2 transform of n/2 points plus a split step, with every twiddle and
// the bit-reversal permutation precomputed, so a transform does no trigonometry.

/// A forward/inverse real FFT of a fixed power-of-two size.
///
/// Not thread-safe: it owns scratch buffers. Cost: about (n/4)·log2(n/2) butterflies
/// per transform; a 1024-point transform takes a few microseconds.
final class RealFFT {
    let size: Int
    private let half: Int
    private let bitReverse: [Int32]
    // Per-stage twiddles e^{-2πij/(2h)}, j < h, for stage half-size h at offset h.
    private let stageRe: UnsafeMutablePointer<Float>
    private let stageIm: UnsafeMutablePointer<Float>
    private let splitRe: [Float]     // e^{-2πik/size}, k <= half
    private let splitIm: [Float]
    private var workRe: [Float]
    private var workIm: [Float]

    init(size: Int) {
        precondition(size >= 8 && size & (size - 1) == 0, "RealFFT size must be a power of two >= 8")
        self.size = size
        half = size / 2
        var bits = 0
        while (1 << bits) < half { bits += 1 }
        var rev = [Int32](repeating: 0, count: half)
        for i in 0..<half {
            var r = 0
            var v = i
            for _ in 0..<bits { r = (r << 1) | (v & 1); v >>= 1 }
            rev[i] = Int32(r)
        }
        bitReverse = rev
        stageRe = .allocate(capacity: max(2, half))
        stageIm = .allocate(capacity: max(2, half))
        stageRe.initialize(repeating: 0, count: max(2, half))
        stageIm.initialize(repeating: 0, count: max(2, half))
        var h = 4
        while h < half {
            for j in 0..<h {
                let a = -Double.pi * Double(j) / Double(h)
                stageRe[h + j] = Float(cos(a)); stageIm[h + j] = Float(sin(a))
            }
            h <<= 1
        }
        var sr = [Float](), si = [Float]()
        for k in 0...half {
            let a = -2.0 * Double.pi * Double(k) / Double(size)
            sr.append(Float(cos(a))); si.append(Float(sin(a)))
        }
        splitRe = sr; splitIm = si
        workRe = [Float](repeating: 0, count: half)
        workIm = [Float](repeating: 0, count: half)
    }

    deinit { stageRe.deallocate(); stageIm.deallocate() }

    /// In-place complex FFT of `half` points (forward sign), on the work buffers.
    private func complexTransform(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>) {
        let n = half
        // First two radix-2 stages fused into one radix-4 pass: their twiddles are 1 and -i,
        // so they need no multiplications.
        var start = 0
        if n >= 4 {
            while start < n {
                let a0r = re[start], a0i = im[start]
                let a1r = re[start + 1], a1i = im[start + 1]
                let a2r = re[start + 2], a2i = im[start + 2]
                let a3r = re[start + 3], a3i = im[start + 3]
                let s0r = a0r + a1r, s0i = a0i + a1i, d0r = a0r - a1r, d0i = a0i - a1i
                let s1r = a2r + a3r, s1i = a2i + a3i, d1r = a2r - a3r, d1i = a2i - a3i
                re[start] = s0r + s1r; im[start] = s0i + s1i
                re[start + 2] = s0r - s1r; im[start + 2] = s0i - s1i
                // d1 * (-i) = (d1i, -d1r)
                re[start + 1] = d0r + d1i; im[start + 1] = d0i - d1r
                re[start + 3] = d0r - d1i; im[start + 3] = d0i + d1r
                start += 4
            }
        } else if n == 2 {
            let ar = re[0], ai = im[0]
            re[0] = ar + re[1]; im[0] = ai + im[1]
            re[1] = ar - re[1]; im[1] = ai - im[1]
            return
        }
        // Remaining radix-2 stages. Each stage's twiddles are stored contiguously (half-size h
        // at offset h), so the inner loop reads them sequentially and vectorizes.
        var len = 8
        while len <= n {
            let h = len / 2
            let twr = stageRe + h, twi = stageIm + h
            start = 0
            while start < n {
                let ar = re + start, ai = im + start, br = re + start + h, bi = im + start + h
                for j in 0..<h {
                    let wr = twr[j], wi = twi[j]
                    let xr = br[j] * wr - bi[j] * wi
                    let xi = br[j] * wi + bi[j] * wr
                    let yr = ar[j], yi = ai[j]
                    br[j] = yr - xr; bi[j] = yi - xi
                    ar[j] = yr + xr; ai[j] = yi + xi
                }
                start += len
            }
            len <<= 1
        }
    }

    /// Forward transform of `input[0..<size]` into bins 0...size/2 (`re`, `im` hold size/2+1 values).
    /// Unnormalised: a full-scale sine of amplitude A gives |X| = A·size/2.
    func forward(_ input: UnsafePointer<Float>, re outRe: UnsafeMutablePointer<Float>, im outIm: UnsafeMutablePointer<Float>) {
        workRe.withUnsafeMutableBufferPointer { wr in
        workIm.withUnsafeMutableBufferPointer { wi in
        bitReverse.withUnsafeBufferPointer { rev in
            for i in 0..<half {
                let r = Int(rev[i])
                wr[i] = input[2 * r]
                wi[i] = input[2 * r + 1]
            }
            complexTransform(wr.baseAddress!, wi.baseAddress!)
            splitRe.withUnsafeBufferPointer { sr in
            splitIm.withUnsafeBufferPointer { si in
                outRe[0] = wr[0] + wi[0]; outIm[0] = 0
                outRe[half] = wr[0] - wi[0]; outIm[half] = 0
                for k in 1..<half {
                    let zr = wr[k], zi = wi[k]
                    let cr = wr[half - k], ci = -wi[half - k]       // conj(Z[m-k])
                    let er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci)   // E[k]
                    let dr = zr - cr, di = zi - ci                    // Z - conj(Z[m-k]) = 2i·O
                    let or_ = 0.5 * di, oi = -0.5 * dr                // O[k] = d / (2i)
                    let tr = sr[k] * or_ - si[k] * oi
                    let ti = sr[k] * oi + si[k] * or_
                    outRe[k] = er + tr; outIm[k] = ei + ti
                }
            }
            }
        }
        }
        }
    }

    /// Inverse of `forward`: bins 0...size/2 to `size` real samples, scaled so that
    /// inverse(forward(x)) == x.
    func inverse(re inRe: UnsafePointer<Float>, im inIm: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        workRe.withUnsafeMutableBufferPointer { wr in
        workIm.withUnsafeMutableBufferPointer { wi in
        bitReverse.withUnsafeBufferPointer { rev in
            splitRe.withUnsafeBufferPointer { sr in
            splitIm.withUnsafeBufferPointer { si in
                // Build Z[k] = E[k] + i·O[k], written conjugated so the forward kernel computes
                // the inverse transform (conj(FFT(conj(Z))) = N·IFFT(Z)).
                for k in 0..<half {
                    let xr = inRe[k], xi = inIm[k]
                    let yr = inRe[half - k], yi = -inIm[half - k]   // conj(X[m-k])
                    let er = 0.5 * (xr + yr), ei = 0.5 * (xi + yi)
                    let dr = 0.5 * (xr - yr), di = 0.5 * (xi - yi)
                    // O = d · conj(W^k)
                    let or_ = dr * sr[k] + di * si[k]
                    let oi = di * sr[k] - dr * si[k]
                    let zr = er - oi, zi = ei + or_
                    wr[k] = zr; wi[k] = -zi
                }
            }
            }
            // Bit-reverse permutation (in place, swap pairs once).
            for i in 0..<half {
                let r = Int(rev[i])
                if r > i {
                    let a = wr[i]; wr[i] = wr[r]; wr[r] = a
                    let b = wi[i]; wi[i] = wi[r]; wi[r] = b
                }
            }
            complexTransform(wr.baseAddress!, wi.baseAddress!)
            let scale = 1 / Float(half)
            for j in 0..<half {
                output[2 * j] = wr[j] * scale
                output[2 * j + 1] = -wi[j] * scale
            }
        }
        }
        }
    }
}

