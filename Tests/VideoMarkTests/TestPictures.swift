import AudioMark
@testable import VideoMark

/// Generated pictures for the video mark's tests: a camera-like texture (value noise at two
/// scales plus grain) that can pan, and planes to feed the embedder and detector.
struct Picture {
    var width: Int, height: Int
    var samples: [UInt16]

    init(width: Int, height: Int, fill: UInt16 = 0) {
        self.width = width; self.height = height
        samples = [UInt16](repeating: fill, count: width * height)
    }

    /// A textured picture `width` x `height` cut at (`dx`, `dy`) from a seeded endless texture.
    static func texture(width: Int, height: Int, dx: Int = 0, dy: Int = 0, seed: UInt64 = 1, maxValue: Int = 255) -> Picture {
        var p = Picture(width: width, height: height)
        let scale = Double(maxValue) / 255
        // Lattice noise evaluated with a hash: same value at the same texture coordinate.
        func hash(_ x: Int, _ y: Int, _ s: UInt64) -> Double {
            var h = UInt64(bitPattern: Int64(x)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(y)) &* 0xC2B2_AE3D_27D4_EB4F ^ s
            h ^= h >> 29; h &*= 0xBF58_476D_1CE4_E5B9; h ^= h >> 32
            return Double(h & 0xFFFF) / 65535
        }
        func lattice(_ x: Int, _ y: Int, cell: Int, s: UInt64) -> Double {
            let gx = x >= 0 ? x / cell : (x - cell + 1) / cell, gy = y >= 0 ? y / cell : (y - cell + 1) / cell
            let fx = Double(x - gx * cell) / Double(cell), fy = Double(y - gy * cell) / Double(cell)
            let a = hash(gx, gy, s), b = hash(gx + 1, gy, s), c = hash(gx, gy + 1, s), d = hash(gx + 1, gy + 1, s)
            return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy
        }
        let coarse = max(8, width / 12), fine = max(2, width / 160)
        for y in 0..<height {
            for x in 0..<width {
                let tx = x + dx, ty = y + dy
                let v = 40 + 150 * lattice(tx, ty, cell: coarse, s: seed) + 50 * lattice(tx, ty, cell: fine, s: seed &+ 7)
                    + 16 * (hash(tx, ty, seed &+ 99) - 0.5)
                p.samples[y * width + x] = UInt16(max(0, min(Double(maxValue), (v * scale).rounded())))
            }
        }
        return p
    }

    /// The picture as 8-bit bytes with `padding` extra bytes per row (a stride wider than the width).
    func bytes(padding: Int = 0) -> (data: [UInt8], stride: Int) {
        let stride = width + padding
        var out = [UInt8](repeating: 0xAB, count: stride * height)
        for y in 0..<height { for x in 0..<width { out[y * stride + x] = UInt8(min(255, samples[y * width + x])) } }
        return (out, stride)
    }

    init(bytes: [UInt8], stride: Int, width: Int, height: Int) {
        self.init(width: width, height: height)
        for y in 0..<height { for x in 0..<width { samples[y * width + x] = UInt16(bytes[y * stride + x]) } }
    }

    /// Box-filtered downscale by an integer factor (what a scaler does to low frequencies).
    func downscaled(by f: Int) -> Picture {
        var p = Picture(width: width / f, height: height / f)
        for y in 0..<p.height {
            for x in 0..<p.width {
                var s = 0
                for yy in 0..<f { for xx in 0..<f { s += Int(samples[(y * f + yy) * width + x * f + xx]) } }
                p.samples[y * p.width + x] = UInt16((s + f * f / 2) / (f * f))
            }
        }
        return p
    }

    /// Luma PSNR against `other` for samples of `bitDepth` bits.
    func psnr(_ other: Picture, bitDepth: Int = 8) -> Double {
        var se = 0.0
        for i in 0..<samples.count { let d = Double(samples[i]) - Double(other.samples[i]); se += d * d }
        let mse = se / Double(samples.count)
        let peak = Double((1 << bitDepth) - 1)
        return mse == 0 ? .infinity : 10 * log10(peak * peak / mse)
    }
}

/// Runs `body` on an 8-bit plane over `bytes`.
func withPlane8<R>(_ bytes: inout [UInt8], width: Int, height: Int, stride: Int, _ body: (LumaPlane) throws -> R) rethrows -> R {
    try bytes.withUnsafeMutableBytes { raw in
        try body(LumaPlane(base: raw.baseAddress!, width: width, height: height, stride: stride))
    }
}

/// Marks `picture` (8-bit) as the frame at `time` and returns the marked picture.
func marked(_ picture: Picture, _ embedder: VideoMarkEmbedder, time: Double) throws -> Picture {
    var (data, stride) = picture.bytes(padding: 24)
    try withPlane8(&data, width: picture.width, height: picture.height, stride: stride) { try embedder.mark($0, time: time) }
    return Picture(bytes: data, stride: stride, width: picture.width, height: picture.height)
}

/// Feeds an 8-bit `picture` to `detector` at `time`.
@discardableResult
func feed(_ picture: Picture, _ detector: VideoMarkDetector, time: Double) throws -> [VideoMarkDetection] {
    var (data, stride) = picture.bytes()
    return try withPlane8(&data, width: picture.width, height: picture.height, stride: stride) { try detector.process($0, time: time) }
}

let testKey = try! WatermarkKey(secret: Array("video mark test key 0123456789".utf8))
let otherKey = try! WatermarkKey(secret: Array("a different key, same length ok".utf8))

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Picture {
    /// The `width` x `height` window of this picture at (`x`, `y`).
    func cropped(x: Int, y: Int, width w: Int, height h: Int) -> Picture {
        var p = Picture(width: w, height: h)
        for row in 0..<h {
            for col in 0..<w { p.samples[row * w + col] = samples[(row + y) * width + col + x] }
        }
        return p
    }
}

/// A clip of `seconds` at `fps`: a texture panning 1 px per frame to the right and down every
/// other frame (camera-like slow pan), marked where `markedAt(t)` is true.
func panningClip(width: Int, height: Int, fps: Double, seconds: Double, embedder: VideoMarkEmbedder?,
                 markedAt: (Double) -> Bool = { _ in true }) throws -> [(time: Double, picture: Picture)] {
    let frames = Int(seconds * fps)
    let base = Picture.texture(width: width + frames, height: height + frames / 2)
    return try (0..<frames).map { i in
        let t = Double(i) / fps
        let p = base.cropped(x: i, y: i / 2, width: width, height: height)
        if let e = embedder, markedAt(t) { return (t, try marked(p, e, time: t)) }
        return (t, p)
    }
}
