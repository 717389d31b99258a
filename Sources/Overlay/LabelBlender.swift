/// Blends one ``LabelSprite`` onto frames of one ``PixelLayout``, in the frame's own format
/// (no colour-space round trip): white text and a translucent black box over luma, and chroma
/// pulled toward neutral by the same opacity, averaged over each chroma sample's luma pixels.
///
/// All blending maths happens once, in `init`: per sample a fixed-point weight (1/256ths for
/// 8-bit, 1/4096ths for 10-bit; the full scale keeps the frame's value) and a premultiplied
/// offset, so ``blend(planes:linesizes:width:height:)`` costs one multiply-add per sample, 16 (8-bit) or 8 (deeper) samples per SIMD step. Only samples
/// inside the sprite's rectangle are read or written; everything else stays bit-identical.
/// A value: immutable and `Sendable`; frames it blends must not be shared while it writes.
public struct LabelBlender: Sendable {
    public let sprite: LabelSprite
    public let pixelLayout: PixelLayout
    /// The picture's transfer and matrix the levels were computed for.
    public let colour: PictureColour
    /// Plane index and its blend.
    private let planes: [(plane: Int, blend: PlaneBlend)]

    /// Precomputes the blend tables (about 3 × the sprite's pixel count in 16/32-bit words).
    /// `colour` is the picture's transfer and matrix: white goes to the picture's own white
    /// for SDR and to reference white (203 cd/m²) for PQ/HLG (see ``PictureColour``).
    /// - Throws: ``OverlayError/Kind/unsupportedPixelLayout``; ``OverlayError/Kind/invalidFrame``
    ///   when the sprite is not aligned to whole chroma samples or lies outside its frame.
    public init(sprite: LabelSprite, pixelLayout: PixelLayout, colour: PictureColour = .sdr) throws {
        guard pixelLayout.isSupported else { throw OverlayError.unsupportedPixelLayout(pixelLayout) }
        let alignX = 1 << pixelLayout.chromaShiftX
        let alignY = 1 << pixelLayout.chromaShiftY
        guard sprite.x % alignX == 0, sprite.width % alignX == 0, sprite.y % alignY == 0, sprite.height % alignY == 0,
            sprite.x >= 0, sprite.y >= 0, sprite.x + sprite.width <= sprite.frameWidth,
            sprite.y + sprite.height <= sprite.frameHeight
        else {
            throw OverlayError.invalidFrame("sprite \(sprite.width)x\(sprite.height)+\(sprite.x)+\(sprite.y) does not fit \(sprite.frameWidth)x\(sprite.frameHeight) on whole chroma samples")
        }
        self.sprite = sprite
        self.pixelLayout = pixelLayout
        self.colour = colour

        let black = Double(pixelLayout.black)
        let white = black + colour.whiteSignal * (Double(pixelLayout.white) - black)
        let wide = pixelLayout.bitDepth > 8
        let maxValue = pixelLayout.maxValue
        let bits = pixelLayout.weightBits
        let neutral = Double(pixelLayout.neutralChroma)
        let chromaScale = Double(pixelLayout.fullRange ? pixelLayout.maxValue : 224 << (pixelLayout.bitDepth - 8))
        let lumaScale = Double(pixelLayout.white) - black
        let count = sprite.width * sprite.height

        // Per luma pixel: the share of the frame that shows through (keep), and the label's own
        // Y, Cb, Cr premultiplied by its opacity 1 - keep.
        var keep = [Double](repeating: 1, count: count)
        var premY = [Double](repeating: 0, count: count)
        var premU = [Double](repeating: 0, count: count)
        var premV = [Double](repeating: 0, count: count)
        if let rgba = sprite.rgba {
            for i in 0..<count {
                let a = Double(rgba[4 * i + 3]) / 255
                guard a > 0 else { continue }
                let (r, g, b) = colour.signal(sRGB: Double(rgba[4 * i]) / 255, Double(rgba[4 * i + 1]) / 255, Double(rgba[4 * i + 2]) / 255)
                let (y, cb, cr) = colour.ycbcr(r, g, b)
                keep[i] = 1 - a
                premY[i] = a * (black + y * lumaScale)
                premU[i] = a * (neutral + cb * chromaScale)
                premV[i] = a * (neutral + cr * chromaScale)
            }
        } else {
            let box = min(1, max(0, sprite.boxOpacity))
            for i in 0..<count {
                let c = Double(sprite.textCoverage[i]) / 255
                keep[i] = (1 - box) * (1 - c)
                premY[i] = white * c + black * box * (1 - c)
                premU[i] = neutral * (1 - keep[i])
                premV[i] = premU[i]
            }
        }

        let luma = (0..<count).map { Self.entry(keep: keep[$0], premultiplied: premY[$0], maxValue: maxValue, bits: bits) }
        let lumaBlend = PlaneBlend(x: sprite.x, y: sprite.y, samples: sprite.width, rows: sprite.height, entries: luma, wide: wide)

        let sx = pixelLayout.chromaShiftX
        let sy = pixelLayout.chromaShiftY
        let cw = sprite.width >> sx
        let ch = sprite.height >> sy
        let perSample = Double(1 << (sx + sy))
        var us = [(weight: Int, offset: Int)](), vs = [(weight: Int, offset: Int)]()
        us.reserveCapacity(cw * ch)
        vs.reserveCapacity(cw * ch)
        for cy in 0..<ch {
            for cx in 0..<cw {
                var k = 0.0, u = 0.0, v = 0.0
                for dy in 0..<(1 << sy) {
                    for dx in 0..<(1 << sx) {
                        let i = ((cy << sy) + dy) * sprite.width + (cx << sx) + dx
                        k += keep[i]; u += premU[i]; v += premV[i]
                    }
                }
                us.append(Self.entry(keep: k / perSample, premultiplied: u / perSample, maxValue: maxValue, bits: bits))
                vs.append(Self.entry(keep: k / perSample, premultiplied: v / perSample, maxValue: maxValue, bits: bits))
            }
        }
        if pixelLayout.semiPlanar {
            var uv = [(weight: Int, offset: Int)]()
            uv.reserveCapacity(2 * us.count)
            for i in us.indices { uv.append(us[i]); uv.append(vs[i]) }  // U and V interleaved
            let blend = PlaneBlend(x: (sprite.x >> sx) * 2, y: sprite.y >> sy, samples: cw * 2, rows: ch, entries: uv, wide: wide)
            planes = [(0, lumaBlend), (1, blend)]
        } else {
            let cx = sprite.x >> sx, cy = sprite.y >> sy
            planes = [(0, lumaBlend), (1, PlaneBlend(x: cx, y: cy, samples: cw, rows: ch, entries: us, wide: wide)),
                      (2, PlaneBlend(x: cx, y: cy, samples: cw, rows: ch, entries: vs, wide: wide))]
        }
    }

    /// Fixed-point form of `out = frame × keep + premultiplied`: weight in 1/2^bits and the offset
    /// with the rounding half already added, capped so the result never exceeds `maxValue`.
    private static func entry(keep: Double, premultiplied: Double, maxValue: Int, bits: Int) -> (weight: Int, offset: Int) {
        let one = 1 << bits
        let weight = min(one, max(0, Int((keep * Double(one)).rounded())))
        let offset = min(Int((premultiplied * Double(one)).rounded()), maxValue * (one - weight))
        return (weight, offset + one / 2)
    }

    /// Blends the label onto one frame in place.
    /// - Parameters:
    ///   - planes: plane base pointers (FFmpeg's `data[]`): Y, U, V, or Y, UV when semi-planar.
    ///   - linesizes: bytes from one row to the next per plane (FFmpeg's `linesize[]`); may exceed
    ///     the row's width and may be negative.
    ///   - width, height: the frame's size in luma pixels; must be the size the sprite was laid out for.
    /// - Throws: ``OverlayError/Kind/invalidFrame`` when the frame does not match (nothing is written then).
    public func blend(planes: [UnsafeMutablePointer<UInt8>], linesizes: [Int], width: Int, height: Int) throws {
        let layout = pixelLayout
        guard width == sprite.frameWidth, height == sprite.frameHeight else {
            throw OverlayError.invalidFrame("label laid out for \(sprite.frameWidth)x\(sprite.frameHeight) but the frame is \(width)x\(height)")
        }
        guard planes.count >= layout.planeCount, linesizes.count >= layout.planeCount else {
            throw OverlayError.invalidFrame("\(layout) needs \(layout.planeCount) planes and line sizes, got \(planes.count) and \(linesizes.count)")
        }
        let chromaWidth = (width + (1 << layout.chromaShiftX) - 1) >> layout.chromaShiftX
        for plane in 0..<layout.planeCount {
            let samples = plane == 0 ? width : chromaWidth * (layout.semiPlanar ? 2 : 1)
            guard abs(linesizes[plane]) >= samples * layout.bytesPerSample else {
                throw OverlayError.invalidFrame("plane \(plane) line size \(linesizes[plane]) is shorter than its \(samples) samples")
            }
        }
        for (plane, blend) in self.planes {
            let base = planes[plane]
            let linesize = linesizes[plane]
            if layout.bitDepth == 8 {
                blend.apply8(base: base, linesize: linesize)
            } else {
                blend.apply16(
                    base: base, linesize: linesize, shift: layout.msbAligned ? 16 - layout.bitDepth : 0,
                    maxValue: UInt32(layout.maxValue), weightBits: UInt32(layout.weightBits))
            }
        }
    }
}

/// The precomputed blend of one plane's rectangle: per sample `out = (in × weight + offset) >> weightBits`.
struct PlaneBlend: Sendable {
    /// Rectangle in samples (U,V pairs count as two in a semi-planar plane) and rows.
    let x: Int
    let y: Int
    let samples: Int
    let rows: Int
    // 8-bit planes fit in 16-bit lanes (255 × 256 + 128 < 65536); deeper ones need 32.
    let weights16: [UInt16]
    let offsets16: [UInt16]
    let weights32: [UInt32]
    let offsets32: [UInt32]

    init(x: Int, y: Int, samples: Int, rows: Int, entries: [(weight: Int, offset: Int)], wide: Bool) {
        precondition(entries.count == samples * rows)
        self.x = x
        self.y = y
        self.samples = samples
        self.rows = rows
        weights16 = wide ? [] : entries.map { UInt16($0.weight) }
        offsets16 = wide ? [] : entries.map { UInt16($0.offset) }
        weights32 = wide ? entries.map { UInt32($0.weight) } : []
        offsets32 = wide ? entries.map { UInt32($0.offset) } : []
    }

    func apply8(base: UnsafeMutablePointer<UInt8>, linesize: Int) {
        let n = samples
        weights16.withUnsafeBufferPointer { weightBuffer in
            offsets16.withUnsafeBufferPointer { offsetBuffer in
                guard let weights = weightBuffer.baseAddress, let offsets = offsetBuffer.baseAddress else { return }
                for row in 0..<rows {
                    let dst = base + (y + row) * linesize + x
                    let w = weights + row * n
                    let o = offsets + row * n
                    var i = 0
                    while i + 16 <= n {
                        let px = SIMD16<UInt16>(truncatingIfNeeded: UnsafeRawPointer(dst + i).loadUnaligned(as: SIMD16<UInt8>.self))
                        let wv = UnsafeRawPointer(w + i).loadUnaligned(as: SIMD16<UInt16>.self)
                        let ov = UnsafeRawPointer(o + i).loadUnaligned(as: SIMD16<UInt16>.self)
                        let out = (px &* wv &+ ov) &>> 8
                        UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: out), as: SIMD16<UInt8>.self)
                        i += 16
                    }
                    while i < n {
                        dst[i] = UInt8(truncatingIfNeeded: (UInt16(dst[i]) &* w[i] &+ o[i]) &>> 8)
                        i += 1
                    }
                }
            }
        }
    }

    /// 16-bit little-endian words; `shift` 6 for P010's MSB-aligned 10 bits, else 0. Input values
    /// above `maxValue` (garbage in the unused high bits) are clamped so the output stays in range.
    func apply16(base: UnsafeMutablePointer<UInt8>, linesize: Int, shift: Int, maxValue: UInt32, weightBits: UInt32) {
        let n = samples
        let s = UInt32(shift)
        weights32.withUnsafeBufferPointer { weightBuffer in
            offsets32.withUnsafeBufferPointer { offsetBuffer in
                guard let weights = weightBuffer.baseAddress, let offsets = offsetBuffer.baseAddress else { return }
                for row in 0..<rows {
                    let dst = UnsafeMutableRawPointer(base + (y + row) * linesize + 2 * x)
                    let w = weights + row * n
                    let o = offsets + row * n
                    var i = 0
                    #if _endian(little)
                    let limit = SIMD8<UInt32>(repeating: maxValue)
                    while i + 8 <= n {
                        var v = SIMD8<UInt32>(truncatingIfNeeded: dst.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self))
                        v = pointwiseMin(v &>> s, limit)
                        let wv = UnsafeRawPointer(w + i).loadUnaligned(as: SIMD8<UInt32>.self)
                        let ov = UnsafeRawPointer(o + i).loadUnaligned(as: SIMD8<UInt32>.self)
                        let out = ((v &* wv &+ ov) &>> weightBits) &<< s
                        dst.storeBytes(of: SIMD8<UInt16>(truncatingIfNeeded: out), toByteOffset: 2 * i, as: SIMD8<UInt16>.self)
                        i += 8
                    }
                    #endif
                    while i < n {
                        let word = UInt16(littleEndian: dst.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        let v = min(UInt32(word) &>> s, maxValue)
                        let out = UInt16(truncatingIfNeeded: ((v &* w[i] &+ o[i]) &>> weightBits) &<< s)
                        dst.storeBytes(of: out.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                        i += 1
                    }
                }
            }
        }
    }
}
