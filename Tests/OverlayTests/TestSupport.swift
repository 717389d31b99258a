import Overlay

/// Reproducible pseudo-random bytes (SplitMix64), so a failing blend test fails the same way twice.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A YUV frame in its own buffers, laid out as FFmpeg would (padded line sizes included).
final class TestFrame {
    let layout: PixelLayout
    let width: Int
    let height: Int
    let buffers: [UnsafeMutableBufferPointer<UInt8>]
    let linesizes: [Int]
    /// Samples per row and rows of each plane.
    let planeSamples: [Int]
    let planeRows: [Int]

    init(_ layout: PixelLayout, width: Int, height: Int, padding: Int = 24, seed: UInt64 = 1) {
        self.layout = layout
        self.width = width
        self.height = height
        let cw = (width + (1 << layout.chromaShiftX) - 1) >> layout.chromaShiftX
        let ch = (height + (1 << layout.chromaShiftY) - 1) >> layout.chromaShiftY
        planeSamples = [width] + Array(repeating: cw * (layout.semiPlanar ? 2 : 1), count: layout.planeCount - 1)
        planeRows = [height] + Array(repeating: ch, count: layout.planeCount - 1)
        linesizes = planeSamples.map { $0 * layout.bytesPerSample + padding }
        var rng = SplitMix64(state: seed)
        buffers = zip(linesizes, planeRows).map { linesize, rows in
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: linesize * rows)
            var i = 0
            while i < buffer.count {
                var word = rng.next()
                for _ in 0..<min(8, buffer.count - i) {
                    buffer[i] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    i += 1
                }
            }
            return buffer
        }
    }

    deinit { for buffer in buffers { buffer.deallocate() } }

    /// A copy of every byte, padding included.
    var bytes: [[UInt8]] { buffers.map { Array($0) } }

    /// Fills every plane with one value per plane (luma, chroma), in the layout's storage.
    func fill(luma: Int, chroma: Int) {
        for p in buffers.indices {
            let value = p == 0 ? luma : chroma
            for s in 0..<planeSamples[p] { set(p, s, 0, value) }
            let rowBytes = planeSamples[p] * layout.bytesPerSample
            for row in 1..<planeRows[p] {
                let start = row * linesizes[p]
                buffers[p][start..<start + rowBytes] = buffers[p][0..<rowBytes]
            }
        }
    }

    /// The sample's value, shifted down for MSB-aligned layouts.
    func value(_ plane: Int, _ sample: Int, _ row: Int) -> Int {
        raw(plane, sample, row) >> (layout.msbAligned ? 16 - layout.bitDepth : 0)
    }

    /// The stored word (8 or 16 bits, little-endian) without any shift.
    func raw(_ plane: Int, _ sample: Int, _ row: Int) -> Int {
        let offset = row * linesizes[plane] + sample * layout.bytesPerSample
        if layout.bytesPerSample == 1 { return Int(buffers[plane][offset]) }
        return Int(buffers[plane][offset]) | Int(buffers[plane][offset + 1]) << 8
    }

    func set(_ plane: Int, _ sample: Int, _ row: Int, _ value: Int) {
        let stored = value << (layout.msbAligned ? 16 - layout.bitDepth : 0)
        let offset = row * linesizes[plane] + sample * layout.bytesPerSample
        buffers[plane][offset] = UInt8(truncatingIfNeeded: stored)
        if layout.bytesPerSample == 2 { buffers[plane][offset + 1] = UInt8(truncatingIfNeeded: stored >> 8) }
    }

    /// FFmpeg-style plane pointers (`AVFrame.data`).
    var pointers: [UnsafeMutablePointer<UInt8>] { buffers.map { $0.baseAddress! } }

    func paint(_ painter: LabelPainter) throws {
        try painter.paint(planes: pointers, linesizes: linesizes, width: width, height: height, layout: layout)
    }

    func blend(_ blender: LabelBlender) throws {
        try blender.blend(planes: pointers, linesizes: linesizes, width: width, height: height)
    }

    /// Whether a sample of `plane` lies in the luma rectangle's image on that plane.
    func inside(_ plane: Int, _ sample: Int, _ row: Int, x: Int, y: Int, width w: Int, height h: Int) -> Bool {
        guard plane > 0 else { return sample >= x && sample < x + w && row >= y && row < y + h }
        let pair = layout.semiPlanar ? 2 : 1
        let cx = sample / pair
        return cx >= x >> layout.chromaShiftX && cx < (x + w) >> layout.chromaShiftX
            && row >= y >> layout.chromaShiftY && row < (y + h) >> layout.chromaShiftY
    }
}

extension LabelSprite {
    /// Rows that hold ink (coverage at least half): what a checker measures as text height.
    var inkHeight: Int {
        let rows = (0..<height).filter { row in textCoverage[row * width..<(row + 1) * width].contains { $0 >= 128 } }
        guard let first = rows.first, let last = rows.last else { return 0 }
        return last - first + 1
    }

    var hasInk: Bool { textCoverage.contains { $0 >= 128 } }
}

/// Frame sizes the pipeline meets: landscape 720p and 1080p, portrait 720×1280.
let commonSizes: [(width: Int, height: Int)] = [(1280, 720), (1920, 1080), (720, 1280)]
