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
/// Cost: one pass over the pixels in integer fixed point (vectorised), plus the sparse mask
/// pass (`videomark-bench speed`; figures in the README).
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
    /// Per-frame work arrays, kept between frames (no allocation per frame). `mark` moves them
    /// into a local for the frame: loops over a class's stored arrays pay a dynamic
    /// exclusivity check per access, ~10 ns each, 50 000 per frame.
    private var scratch = Scratch()

    struct Scratch {
        /// Per control node (128 x 72): the field value, texture and level sums, sample count.
        var node: [Float], texture: [Float], level: [Float], count: [Float]
        /// The node field in fixed point, and one band's rows of it per column (see `add`).
        var fixedNode: [Int32]
        var bandA: [Int32] = [], bandD: [Int32] = []
        /// The same in Int16 at 1/16 level, for 8-bit planes (twice the lanes per vector).
        var narrowA: [Int16] = [], narrowD: [Int16] = []

        init() {
            node = [Float](repeating: 0, count: VideoMarkLayout.controlX * VideoMarkLayout.controlY)
            texture = node; level = node; count = node
            fixedNode = [Int32](repeating: 0, count: VideoMarkLayout.controlX * VideoMarkLayout.controlY)
        }
        /// No storage: what `scratch` holds while `mark` has its arrays.
        init(empty: ()) { node = []; texture = []; level = []; count = []; fixedNode = [] }
    }

    /// - Parameter strength: multiplies the amplitude (1 = the calibrated default; for measurement).
    public init(key: WatermarkKey, payload: WatermarkPayload, strength: Float = 1) {
        let vkey = VideoMarkKey(key)
        self.payload = payload
        layout = KeyedLayout(key: vkey)
        let coded = VideoPayloadCodec(key: vkey).encode(payload)
        controlPattern = Self.controlField(cells: layout.cellValues(coded: coded))
        self.strength = strength
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
        var w = Scratch(empty: ())
        swap(&w, &scratch)
        defer { swap(&w, &scratch) }
        Self.measureMask(plane, g, &w)
        let scale = Float(1 << (plane.bitDepth - 8))
        controlPattern.withUnsafeBufferPointer { pattern in
            for i in 0..<w.node.count {
                let c = w.count[i]
                guard c > 0 else { w.node[i] = 0; continue }
                let act = w.texture[i] / c
                let mean = w.level[i] / c
                var a = min(Self.maximumAmplitude, Self.textureGain * max(0, act - Self.textureFloor))
                // Dark areas: the eye sees smaller steps there (Weber), and near black a
                // change lifts noise out of the crushed shadows.
                a *= min(1, max(0, (mean - 20) / 50))
                w.node[i] = a * pattern[i]
            }
        }
        // A frame that is textured everywhere would take the full amplitude everywhere: the
        // field's RMS is capped so luma PSNR stays >= ~44 dB on any frame.
        var energy: Float = 0
        for v in w.node { energy += v * v }
        let rms = (energy / Float(w.node.count)).squareRoot()
        let cap = rms > Self.rmsBudget ? Self.rmsBudget / rms : 1
        let k = s * scale * cap
        for i in 0..<w.node.count { w.node[i] *= k }
        Self.add(plane, g, &w)
    }

    /// Texture (mean absolute difference to the right and lower neighbour) and mean level, in
    /// 8-bit levels, per control node, from a sparse sample of the frame.
    ///
    /// 8-bit planes take a raw-pointer path with integer sums: the same values as the Float
    /// sums of the general path (every partial sum is an integer below 2^24, exact in Float).
    private static func measureMask(_ plane: LumaPlane, _ g: Geometry, _ w: inout Scratch) {
        let n = w.node.count
        for i in 0..<n { w.texture[i] = 0; w.level[i] = 0; w.count[i] = 0 }
        let width = plane.width, h = plane.height
        if plane.bitDepth == 8 {
            var tex = [Int32](repeating: 0, count: n), lev = tex, cnt = tex
            tex.withUnsafeMutableBufferPointer { tex in
                lev.withUnsafeMutableBufferPointer { lev in
                    cnt.withUnsafeMutableBufferPointer { cnt in
                        g.nodeOfColumn.withUnsafeBufferPointer { nodeOfColumn in
                            var y = g.sampleStepY / 2
                            while y < h - 1 {
                                let rowNode = g.nodeOfRow[y] * VideoMarkLayout.controlX
                                let row = UnsafePointer((plane.base + y * plane.stride).assumingMemoryBound(to: UInt8.self))
                                let below = row + plane.stride
                                var x = g.sampleStepX / 2
                                while x < width - 1 {
                                    let p = Int32(row[x]), r = Int32(row[x + 1]), d = Int32(below[x])
                                    let k = rowNode + nodeOfColumn[x]
                                    tex[k] &+= abs(p &- r) &+ abs(p &- d)
                                    lev[k] &+= p
                                    cnt[k] &+= 1
                                    x += g.sampleStepX
                                }
                                y += g.sampleStepY
                            }
                        }
                    }
                }
            }
            for i in 0..<n { w.texture[i] = Float(tex[i]); w.level[i] = Float(lev[i]); w.count[i] = Float(cnt[i]) }
            return
        }
        let inv = 1 / Float(1 << (plane.bitDepth - 8))
        w.texture.withUnsafeMutableBufferPointer { tex in
            w.level.withUnsafeMutableBufferPointer { lev in
                w.count.withUnsafeMutableBufferPointer { cnt in
                    var y = g.sampleStepY / 2
                    while y < h - 1 {
                        let rowNode = g.nodeOfRow[y] * VideoMarkLayout.controlX
                        var x = g.sampleStepX / 2
                        while x < width - 1 {
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
    ///
    /// In fixed point so the per-pixel loop is integer only and vectorises (a Float -> integer
    /// conversion in Swift is checked, which kept the old Float loop scalar: 8 ms per 1080p
    /// frame). Per band of rows between two node rows, the two node rows are interpolated to
    /// every column once (`bandA`, `bandD` = lower minus upper, in 1/2^q levels); per row the
    /// field is `A + D * wy` (wy in 1/256) and each sample gets it rounded half up. Bands whose
    /// nodes are all zero (flat or dark areas across the frame's width) are skipped: nothing
    /// would change there.
    private static func add(_ plane: LumaPlane, _ g: Geometry, _ w: inout Scratch) {
        let width = plane.width, cxn = VideoMarkLayout.controlX, cyn = VideoMarkLayout.controlY
        // Fraction bits: 12 for 8-bit samples, fewer for deeper ones (their levels are finer),
        // so `D * wy` stays inside Int32 for any depth at the clamp below.
        let q = Int32(max(4, 12 - (plane.bitDepth - 8)))
        let limit: Float = Float(1 << 19)
        if w.bandA.count != width { w.bandA = [Int32](repeating: 0, count: width); w.bandD = w.bandA }
        if w.narrowA.count != width { w.narrowA = [Int16](repeating: 0, count: width); w.narrowD = w.narrowA }
        var nonzeroRow = [Bool](repeating: false, count: cyn)
        let one = Float(1 << q)
        for i in 0..<w.node.count {
            let v = Int32(min(max((w.node[i] * one).rounded(), -limit), limit))
            w.fixedNode[i] = v
            if v != 0 { nonzeroRow[i / cxn] = true }
        }
        let maxValue = Int32((1 << plane.bitDepth) - 1)
        let half = Int32(1) << (q - 1)
        var band = -1
        var bandIsZero = true
        var a: [Int32] = [], d: [Int32] = [], a16: [Int16] = [], d16: [Int16] = []
        swap(&a, &w.bandA); swap(&d, &w.bandD); swap(&a16, &w.narrowA); swap(&d16, &w.narrowD)
        defer { swap(&a, &w.bandA); swap(&d, &w.bandD); swap(&a16, &w.narrowA); swap(&d16, &w.narrowD) }
        // 8-bit planes use the Int16 rows when the band's values fit them (always at the
        // calibrated strength: |field| <= 5 levels): `d16 * wy7` must stay below 2^15.
        var narrow = false
        let n = w.fixedNode
        let columnRuns = g.columnRuns, colWeight = g.columnWeight
        for y in 0..<plane.height {
            let j0 = g.rowIndex[y], wy = g.rowWeight[y]
            if j0 != band {
                band = j0
                let j1 = min(j0 + 1, cyn - 1)
                bandIsZero = !nonzeroRow[j0] && !nonzeroRow[j1]
                if !bandIsZero {
                    // The two node rows around this band, interpolated horizontally to every column.
                    n.withUnsafeBufferPointer { n in
                        a.withUnsafeMutableBufferPointer { a in
                            d.withUnsafeMutableBufferPointer { d in
                                colWeight.withUnsafeBufferPointer { colWeight in
                                    // Run by run of columns between the same two nodes: the
                                    // inner loop has constant node values and vectorises.
                                    for run in columnRuns {
                                        let i0 = run.node, i1 = min(i0 + 1, cxn - 1)
                                        let u0 = n[j0 * cxn + i0], du = n[j0 * cxn + i1] &- u0
                                        let l0 = n[j1 * cxn + i0], dl = n[j1 * cxn + i1] &- l0
                                        for x in run.columns {
                                            let wx = colWeight[x]
                                            let upper = u0 &+ ((du &* wx) &>> 8)
                                            let lower = l0 &+ ((dl &* wx) &>> 8)
                                            a[x] = upper
                                            d[x] = lower &- upper
                                        }
                                    }
                                }
                            }
                        }
                    }
                    if q == 12 {
                        // 1/4096 -> 1/16 level, rounded.
                        var largest: Int32 = 0
                        a.withUnsafeBufferPointer { a in
                            d.withUnsafeBufferPointer { d in
                                a16.withUnsafeMutableBufferPointer { a16 in
                                    d16.withUnsafeMutableBufferPointer { d16 in
                                        for x in 0..<width {
                                            let na = (a[x] &+ 128) &>> 8, nd = (d[x] &+ 128) &>> 8
                                            largest = max(largest, abs(na) &>> 4, abs(nd) &>> 1)
                                            a16[x] = Int16(truncatingIfNeeded: na)
                                            d16[x] = Int16(truncatingIfNeeded: nd)
                                        }
                                    }
                                }
                            }
                        }
                        narrow = largest < 128
                    }
                }
            }
            if bandIsZero { continue }
            let row = plane.base + y * plane.stride
            a.withUnsafeBufferPointer { a in
                d.withUnsafeBufferPointer { d in
                    if narrow {
                        a16.withUnsafeBufferPointer { a16 in
                            d16.withUnsafeBufferPointer { d16 in
                                addRow8Narrow(row.assumingMemoryBound(to: UInt8.self), a16.baseAddress!, d16.baseAddress!, width,
                                              Int16(truncatingIfNeeded: (wy &+ 1) &>> 1))
                            }
                        }
                    } else if plane.bitDepth == 8 {
                        addRow8(row.assumingMemoryBound(to: UInt8.self), a.baseAddress!, d.baseAddress!, width, wy, q, half)
                    } else {
                        addRow16(row.assumingMemoryBound(to: UInt16.self), a.baseAddress!, d.baseAddress!, width, wy, q, half,
                                      maxValue, shift: plane.msbAligned ? UInt16(16 - plane.bitDepth) : 0)
                    }
                }
            }
        }
    }

    /// One 8-bit row: integer only, no checks and masking shifts (`&>>`; Swift's `>>` by a
    /// variable amount branches on the amount), so the compiler vectorises it.
    @inline(never)
    static func addRow8(_ p: UnsafeMutablePointer<UInt8>, _ a: UnsafePointer<Int32>, _ d: UnsafePointer<Int32>,
                        _ w: Int, _ wy: Int32, _ q: Int32, _ half: Int32) {
        for x in 0..<w {
            let f = a[x] &+ ((d[x] &* wy) &>> 8)
            let v = Int32(p[x]) &+ ((f &+ half) &>> q)
            p[x] = UInt8(truncatingIfNeeded: min(max(v, 0), 255))
        }
    }

    /// One 8-bit row from the Int16 band rows (1/16 level; `wy7` in 1/128): 8 samples per
    /// 128-bit vector.
    @inline(never)
    static func addRow8Narrow(_ p: UnsafeMutablePointer<UInt8>, _ a: UnsafePointer<Int16>, _ d: UnsafePointer<Int16>,
                              _ w: Int, _ wy7: Int16) {
        for x in 0..<w {
            let f = a[x] &+ ((d[x] &* wy7) &>> 7)
            let v = Int16(p[x]) &+ ((f &+ 8) &>> 4)
            p[x] = UInt8(truncatingIfNeeded: min(max(v, 0), 255))
        }
    }

    /// One row of 16-bit words (low- or high-bit aligned, little-endian).
    @inline(never)
    static func addRow16(_ p: UnsafeMutablePointer<UInt16>, _ a: UnsafePointer<Int32>, _ d: UnsafePointer<Int32>,
                         _ w: Int, _ wy: Int32, _ q: Int32, _ half: Int32, _ maxValue: Int32, shift: UInt16) {
        let s = Int32(shift)
        for x in 0..<w {
            let f = a[x] &+ ((d[x] &* wy) &>> 8)
            let v = Int32(UInt16(littleEndian: p[x]) &>> shift) &+ ((f &+ half) &>> q)
            p[x] = (UInt16(truncatingIfNeeded: min(max(v, 0), maxValue) &<< s)).littleEndian
        }
    }
}

/// Per-frame-size tables: which control node each row/column falls in (for the mask) and the
/// interpolation weights between node centres (for the field).
struct Geometry {
    let width: Int, height: Int
    let nodeOfColumn: [Int], nodeOfRow: [Int]
    /// Per column/row: the node before it and the weight of the next node, in 1/256.
    let columnIndex: [Int32], columnWeight: [Int32]
    /// Consecutive columns with the same `columnIndex`.
    let columnRuns: [(node: Int, columns: Range<Int>)]
    let rowIndex: [Int], rowWeight: [Int32]
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
        let columns = weights(width, cx), rows = weights(height, cy)
        columnIndex = columns.map { Int32($0.0) }
        columnWeight = columns.map { Int32(($0.1 * 256).rounded()) }
        var runs: [(node: Int, columns: Range<Int>)] = []
        var start = 0
        for x in 1...width where x == width || columns[x].0 != columns[start].0 {
            runs.append((columns[start].0, start..<x))
            start = x
        }
        columnRuns = runs
        rowIndex = rows.map(\.0)
        rowWeight = rows.map { Int32(($0.1 * 256).rounded()) }
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
