import AudioMark

/// Adds the keyed, invisible video mark to luma planes in place, frame by frame.
///
/// Per frame (see `VideoMarkLayout` for the layout): the texture mask is measured on a sparse
/// sample of the frame (every ~4th row and column of each control block: ~1/16 of the pixels),
/// giving each of the 128 x 72 control nodes an amplitude: zero in flat areas (smooth gradients
/// included: the measure is the mean absolute difference of neighbouring pixels, not variance),
/// growing with texture up to `maximumAmplitude`, and scaled down in dark areas. The node values
/// (amplitude x keyed pattern x temporal sign) are interpolated bilinearly to every pixel and
/// added with rounding: in flat 8-bit areas the change rounds to nothing.
///
/// Cost: one pass over the pixels with a vectorisable multiply-add per sample, plus the sparse
/// mask pass: ~1.5 ms per 1080p frame on one core (`videomark-bench speed`).
///
/// Threading: not thread-safe (it keeps per-size tables and scratch); one serial queue.
public final class VideoMarkEmbedder {
    /// Peak change, in 8-bit luma levels, in strongly textured areas.
    public static let maximumAmplitude: Float = 5.0
    /// Texture (mean absolute neighbour difference, 8-bit levels) below which nothing is added:
    /// flat areas, gradients, clean cartoon fills.
    static let textureFloor: Float = 1.0
    /// Largest RMS of the field over a frame, in 8-bit levels (20 log10(255 / 1.6) = 44 dB).
    static let rmsBudget: Float = 1.6
    /// Amplitude per level of texture above the floor.
    static let textureGain: Float = 0.8

    public let payload: WatermarkPayload
    private let layout: KeyedLayout
    /// Keyed pattern at the control nodes (128 x 72), before mask and temporal sign.
    private let controlPattern: [Float]
    private let strength: Float
    private var geometry: Geometry?
    private var node: [Float]
    private var texture: [Float]
    private var level: [Float]
    private var count: [Float]
    private var rowA: [Float] = []
    private var rowD: [Float] = []

    /// - Parameter strength: multiplies the amplitude (1 = the calibrated default; for measurement).
    public init(key: WatermarkKey, payload: WatermarkPayload, strength: Float = 1) {
        let vkey = VideoMarkKey(key)
        self.payload = payload
        layout = KeyedLayout(key: vkey)
        let coded = VideoPayloadCodec(key: vkey).encode(payload)
        controlPattern = Self.controlField(cells: layout.cellValues(coded: coded))
        self.strength = strength
        let n = VideoMarkLayout.controlX * VideoMarkLayout.controlY
        node = [Float](repeating: 0, count: n)
        texture = node; level = node; count = node
    }

    /// Cell values interpolated bilinearly to the control nodes' centres.
    static func controlField(cells: [Float]) -> [Float] {
        let cx = VideoMarkLayout.cellsX, cy = VideoMarkLayout.cellsY, per = Float(VideoMarkLayout.controlPerCell)
        var out = [Float](repeating: 0, count: VideoMarkLayout.controlX * VideoMarkLayout.controlY)
        for v in 0..<VideoMarkLayout.controlY {
            let fy = min(max((Float(v) + 0.5) / per - 0.5, 0), Float(cy - 1))
            let j0 = min(Int(fy), cy - 2), wy = fy - Float(j0)
            for u in 0..<VideoMarkLayout.controlX {
                let fx = min(max((Float(u) + 0.5) / per - 0.5, 0), Float(cx - 1))
                let i0 = min(Int(fx), cx - 2), wx = fx - Float(i0)
                let a = cells[j0 * cx + i0] * (1 - wx) + cells[j0 * cx + i0 + 1] * wx
                let b = cells[(j0 + 1) * cx + i0] * (1 - wx) + cells[(j0 + 1) * cx + i0 + 1] * wx
                out[v * VideoMarkLayout.controlX + u] = a * (1 - wy) + b * wy
            }
        }
        return out
    }

    /// Marks `plane` in place as the picture at media time `time` (seconds on the stream's
    /// clock: the same clock the detector will see as timestamps).
    /// - Throws: `VideoMarkError` when the plane's depth, size or stride is unusable.
    public func mark(_ plane: LumaPlane, time: Double) throws {
        if let p = plane.problem { throw p }
        let s = layout.sign(at: time) * strength
        if abs(s) < 0.02 { return }
        if geometry == nil || !geometry!.matches(plane) { geometry = Geometry(plane) }
        let g = geometry!
        measureMask(plane, g)
        let scale = Float(1 << (plane.bitDepth - 8))
        for i in 0..<node.count {
            let c = count[i]
            guard c > 0 else { node[i] = 0; continue }
            let act = texture[i] / c
            let mean = level[i] / c
            var a = min(Self.maximumAmplitude, Self.textureGain * max(0, act - Self.textureFloor))
            // Dark areas: the eye sees smaller steps there (Weber), and near black a
            // change lifts noise out of the crushed shadows.
            a *= min(1, max(0, (mean - 20) / 50))
            node[i] = a * controlPattern[i]
        }
        // A frame that is textured everywhere would take the full amplitude everywhere: the
        // field's RMS is capped so luma PSNR stays >= ~44 dB on any frame.
        var energy: Float = 0
        for v in node { energy += v * v }
        let rms = (energy / Float(node.count)).squareRoot()
        let cap = rms > Self.rmsBudget ? Self.rmsBudget / rms : 1
        let k = s * scale * cap
        for i in 0..<node.count { node[i] *= k }
        add(plane, g)
    }

    /// Texture (mean absolute difference to the right and lower neighbour) and mean level, in
    /// 8-bit levels, per control node, from a sparse sample of the frame.
    private func measureMask(_ plane: LumaPlane, _ g: Geometry) {
        for i in 0..<node.count { texture[i] = 0; level[i] = 0; count[i] = 0 }
        let w = plane.width, h = plane.height
        let inv = 1 / Float(1 << (plane.bitDepth - 8))
        texture.withUnsafeMutableBufferPointer { tex in
            level.withUnsafeMutableBufferPointer { lev in
                count.withUnsafeMutableBufferPointer { cnt in
                    var y = g.sampleStepY / 2
                    while y < h - 1 {
                        let rowNode = g.nodeOfRow[y] * VideoMarkLayout.controlX
                        var x = g.sampleStepX / 2
                        while x < w - 1 {
                            let p = plane.sample(x, y), r = plane.sample(x + 1, y), d = plane.sample(x, y + 1)
                            let k = rowNode + g.nodeOfColumn[x]
                            tex[k] += Float(abs(p - r) + abs(p - d)) * inv
                            lev[k] += Float(p) * inv
                            cnt[k] += 1
                            x += g.sampleStepX
                        }
                        y += g.sampleStepY
                    }
                }
            }
        }
    }

    /// Adds the node field, interpolated bilinearly, to every pixel (rounded, clamped).
    private func add(_ plane: LumaPlane, _ g: Geometry) {
        let w = plane.width, cxn = VideoMarkLayout.controlX, cyn = VideoMarkLayout.controlY
        if self.rowA.count != w { self.rowA = [Float](repeating: 0, count: w); self.rowD = self.rowA }
        let maxValue = Float((1 << plane.bitDepth) - 1)
        var band = -1
        // Local copies: the loops below then touch no class storage (no exclusivity checks).
        let node = self.node
        var rowA: [Float] = [], rowD: [Float] = []
        swap(&rowA, &self.rowA); swap(&rowD, &self.rowD)
        defer { swap(&rowA, &self.rowA); swap(&rowD, &self.rowD) }
        for y in 0..<plane.height {
            let (j0, wy) = g.rowWeights[y]
            if j0 != band {
                band = j0
                let j1 = min(j0 + 1, cyn - 1)
                // The two node rows around this band, interpolated horizontally to every column.
                node.withUnsafeBufferPointer { n in
                    for x in 0..<w {
                        let (i0, wx) = g.columnWeights[x]
                        let i1 = min(i0 + 1, cxn - 1)
                        let a = n[j0 * cxn + i0] + (n[j0 * cxn + i1] - n[j0 * cxn + i0]) * wx
                        let b = n[j1 * cxn + i0] + (n[j1 * cxn + i1] - n[j1 * cxn + i0]) * wx
                        rowA[x] = a
                        rowD[x] = b - a
                    }
                }
            }
            let row = plane.base + y * plane.stride
            rowA.withUnsafeBufferPointer { a in
                rowD.withUnsafeBufferPointer { d in
                    if plane.bitDepth == 8 {
                        let p = row.assumingMemoryBound(to: UInt8.self)
                        for x in 0..<w {
                            let v = Float(p[x]) + a[x] + wy * d[x] + 0.5
                            p[x] = UInt8(min(max(v, 0), maxValue + 0.49))
                        }
                    } else {
                        let p = row.assumingMemoryBound(to: UInt16.self)
                        let shift = plane.msbAligned ? UInt16(16 - plane.bitDepth) : 0
                        for x in 0..<w {
                            let v = Float(UInt16(littleEndian: p[x]) >> shift) + a[x] + wy * d[x] + 0.5
                            p[x] = (UInt16(min(max(v, 0), maxValue + 0.49)) << shift).littleEndian
                        }
                    }
                }
            }
        }
    }
}

/// Per-frame-size tables: which control node each row/column falls in (for the mask) and the
/// interpolation weights between node centres (for the field).
struct Geometry {
    let width: Int, height: Int
    let nodeOfColumn: [Int], nodeOfRow: [Int]
    let columnWeights: [(Int, Float)], rowWeights: [(Int, Float)]
    let sampleStepX: Int, sampleStepY: Int

    init(_ plane: LumaPlane) {
        width = plane.width; height = plane.height
        let cx = VideoMarkLayout.controlX, cy = VideoMarkLayout.controlY
        nodeOfColumn = (0..<width).map { min(cx - 1, $0 * cx / plane.width) }
        nodeOfRow = (0..<height).map { min(cy - 1, $0 * cy / plane.height) }
        func weights(_ n: Int, _ nodes: Int) -> [(Int, Float)] {
            (0..<n).map { i in
                let f = min(max((Float(i) + 0.5) * Float(nodes) / Float(n) - 0.5, 0), Float(nodes - 1))
                let i0 = min(Int(f), nodes - 1)
                return (i0, f - Float(i0))
            }
        }
        columnWeights = weights(width, cx)
        rowWeights = weights(height, cy)
        sampleStepX = max(1, width / cx / 4)
        sampleStepY = max(1, height / cy / 4)
    }

    func matches(_ p: LumaPlane) -> Bool { p.width == width && p.height == height }
}

extension LumaPlane {
    /// The sample at (x, y) as its integer value.
    @inline(__always) func sample(_ x: Int, _ y: Int) -> Int {
        let row = base + y * stride
        if bitDepth == 8 { return Int(row.load(fromByteOffset: x, as: UInt8.self)) }
        let v = UInt16(littleEndian: row.loadUnaligned(fromByteOffset: 2 * x, as: UInt16.self))
        return Int(msbAligned ? v >> UInt16(16 - bitDepth) : v)
    }
}
