import Foundation

/// The transfer function of the picture a label is drawn into (`AVColorTransferCharacteristic`,
/// reduced to what changes the label's levels).
public enum PictureTransfer: String, Sendable, Hashable, CaseIterable {
    /// BT.709 / BT.1886 / sRGB and anything unspecified: white is the top of the range.
    case sdr
    /// SMPTE ST 2084 (PQ), absolute luminance.
    case pq
    /// ARIB STD-B67 (HLG), relative scene light.
    case hlg
}

/// The Y'CbCr matrix of the picture (its `AVColorSpace`).
public enum YCbCrMatrix: String, Sendable, Hashable, CaseIterable {
    case bt601, bt709, bt2020

    /// Luma weights of red and blue (green is the rest).
    var kr: Double { self == .bt601 ? 0.299 : self == .bt709 ? 0.2126 : 0.2627 }
    var kb: Double { self == .bt601 ? 0.114 : self == .bt709 ? 0.0722 : 0.0593 }
}

/// How the label's colours become the picture's signal: white text at the picture's own
/// white for SDR, and at BT.2408's reference graphics white (203 cd/m²) for PQ and HLG, so a
/// label on an HDR stream is as bright as the programme's graphics, not a 10 000-nit flash.
public struct PictureColour: Sendable, Hashable, CustomStringConvertible {
    public var transfer: PictureTransfer
    public var matrix: YCbCrMatrix

    public init(transfer: PictureTransfer = .sdr, matrix: YCbCrMatrix = .bt709) {
        self.transfer = transfer
        self.matrix = matrix
    }

    public static let sdr = PictureColour()

    /// ITU-R BT.2408: reference (graphics) white on an HDR display.
    public static let referenceWhiteNits = 203.0

    /// Signal level of white, as a fraction of the nominal range: 1 for SDR, PQ's code for
    /// 203 cd/m² (about 0.58), HLG's 75%.
    public var whiteSignal: Double {
        switch transfer {
        case .sdr: return 1
        case .pq: return Self.pq(nits: Self.referenceWhiteNits)
        case .hlg: return 0.75
        }
    }

    /// R'G'B' signal (0...1) in the picture's transfer for an sRGB-encoded colour (a PNG's or
    /// SVG's pixel): SDR keeps it; PQ/HLG map its white to reference white, in BT.2020 primaries.
    func signal(sRGB r: Double, _ g: Double, _ b: Double) -> (Double, Double, Double) {
        guard transfer != .sdr else { return (r, g, b) }
        func linear(_ v: Double) -> Double { v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4) }
        let (lr, lg, lb) = (linear(r), linear(g), linear(b))
        // BT.2087: BT.709 primaries to BT.2020, in linear light.
        let r2 = 0.6274 * lr + 0.3293 * lg + 0.0433 * lb
        let g2 = 0.0691 * lr + 0.9195 * lg + 0.0114 * lb
        let b2 = 0.0164 * lr + 0.0880 * lg + 0.8956 * lb
        switch transfer {
        case .pq:
            return (Self.pq(nits: r2 * Self.referenceWhiteNits), Self.pq(nits: g2 * Self.referenceWhiteNits), Self.pq(nits: b2 * Self.referenceWhiteNits))
        default:
            // Scene light whose HLG signal is 75% for white (BT.2408's HLG reference white).
            let white = (exp((0.75 - Self.hlgC) / Self.hlgA) + Self.hlgB) / 12
            return (Self.hlg(r2 * white), Self.hlg(g2 * white), Self.hlg(b2 * white))
        }
    }

    /// Y' (0...1) and Cb, Cr (-0.5...0.5) of an R'G'B' signal with this matrix.
    func ycbcr(_ r: Double, _ g: Double, _ b: Double) -> (y: Double, cb: Double, cr: Double) {
        let kr = matrix.kr, kb = matrix.kb
        let y = kr * r + (1 - kr - kb) * g + kb * b
        return (y, (b - y) / (2 * (1 - kb)), (r - y) / (2 * (1 - kr)))
    }

    /// SMPTE ST 2084 inverse EOTF: signal for an absolute luminance.
    static func pq(nits: Double) -> Double {
        let m1 = 2610.0 / 16384, m2 = 2523.0 / 4096 * 128
        let c1 = 3424.0 / 4096, c2 = 2413.0 / 4096 * 32, c3 = 2392.0 / 4096 * 32
        let y = pow(max(0, nits) / 10000, m1)
        return pow((c1 + c2 * y) / (1 + c3 * y), m2)
    }

    static let hlgA = 0.17883277, hlgB = 0.28466892, hlgC = 0.55991073
    /// ARIB STD-B67 OETF for scene light 0...1.
    static func hlg(_ e: Double) -> Double {
        let e = max(0, e)
        return e <= 1.0 / 12 ? (3 * e).squareRoot() : hlgA * log(12 * e - hlgB) + hlgC
    }

    public var description: String { "\(transfer.rawValue)/\(matrix.rawValue)" }
}
