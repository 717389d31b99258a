/// How a YUV frame's samples are stored, described without FFmpeg so the overlay stays
/// independent of it (the pipeline maps `AVPixelFormat` to one of the presets).
///
/// Plane 0 is luma. Planar layouts have U in plane 1 and V in plane 2; semi-planar layouts
/// interleave U,V in plane 1. Samples deeper than 8 bits take a 16-bit little-endian word,
/// with the value in the low bits, or in the high bits when `msbAligned` (P010).
public struct PixelLayout: Sendable, Hashable, CustomStringConvertible {
    /// log2 of the horizontal / vertical chroma subsampling (yuv420p: 1, 1; yuv444p: 0, 0).
    public var chromaShiftX: Int
    public var chromaShiftY: Int
    /// Significant bits per sample: 8 to 16.
    public var bitDepth: Int
    /// U and V interleaved in one plane (NV12, P010).
    public var semiPlanar: Bool
    /// The value sits in the high bits of its 16-bit word (P010); only for `bitDepth > 8`.
    public var msbAligned: Bool
    /// Full ("JPEG") range: white is the largest value and black 0, not 235/16 scaled.
    public var fullRange: Bool

    public init(chromaShiftX: Int, chromaShiftY: Int, bitDepth: Int = 8, semiPlanar: Bool = false, msbAligned: Bool = false, fullRange: Bool = false) {
        self.chromaShiftX = chromaShiftX
        self.chromaShiftY = chromaShiftY
        self.bitDepth = bitDepth
        self.semiPlanar = semiPlanar
        self.msbAligned = msbAligned
        self.fullRange = fullRange
    }

    public static let yuv420p = PixelLayout(chromaShiftX: 1, chromaShiftY: 1)
    public static let yuvj420p = PixelLayout(chromaShiftX: 1, chromaShiftY: 1, fullRange: true)
    public static let yuv422p = PixelLayout(chromaShiftX: 1, chromaShiftY: 0)
    public static let yuvj422p = PixelLayout(chromaShiftX: 1, chromaShiftY: 0, fullRange: true)
    public static let yuv444p = PixelLayout(chromaShiftX: 0, chromaShiftY: 0)
    public static let yuvj444p = PixelLayout(chromaShiftX: 0, chromaShiftY: 0, fullRange: true)
    public static let nv12 = PixelLayout(chromaShiftX: 1, chromaShiftY: 1, semiPlanar: true)
    public static let yuv420p10le = PixelLayout(chromaShiftX: 1, chromaShiftY: 1, bitDepth: 10)
    public static let yuv422p10le = PixelLayout(chromaShiftX: 1, chromaShiftY: 0, bitDepth: 10)
    public static let yuv444p10le = PixelLayout(chromaShiftX: 0, chromaShiftY: 0, bitDepth: 10)
    public static let p010le = PixelLayout(chromaShiftX: 1, chromaShiftY: 1, bitDepth: 10, semiPlanar: true, msbAligned: true)

    /// 1 for 8-bit samples, 2 for deeper ones.
    public var bytesPerSample: Int { bitDepth > 8 ? 2 : 1 }
    /// 2 for semi-planar layouts, 3 for planar ones.
    public var planeCount: Int { semiPlanar ? 2 : 3 }

    /// Whether ``LabelBlender`` handles this layout.
    public var isSupported: Bool {
        (8...16).contains(bitDepth) && (0...1).contains(chromaShiftX) && (0...1).contains(chromaShiftY)
            && (!msbAligned || bitDepth > 8)
    }

    public var description: String {
        "PixelLayout(chroma \(chromaShiftX),\(chromaShiftY), \(bitDepth)-bit\(semiPlanar ? ", semi-planar" : "")\(msbAligned ? ", MSB-aligned" : "")\(fullRange ? ", full range" : ""))"
    }

    /// Luma of the label's white text, black box and neutral chroma, in this layout's range and depth.
    var white: Int { fullRange ? (1 << bitDepth) - 1 : 235 << (bitDepth - 8) }
    var black: Int { fullRange ? 0 : 16 << (bitDepth - 8) }
    var neutralChroma: Int { 1 << (bitDepth - 1) }
    var maxValue: Int { (1 << bitDepth) - 1 }
    /// Fixed-point precision of blend weights: 8 bits keeps 8-bit maths in 16-bit lanes; deeper
    /// samples get 2 more bits than they have (at most 14, so 16-bit × weight fits 32-bit lanes).
    var weightBits: Int { bitDepth == 8 ? 8 : min(bitDepth + 2, 14) }
}
