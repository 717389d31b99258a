/// The few H.264 syntax elements a packet copy needs: NAL unit types (is this an IDR?) and
/// parameter-set ids (which SPS/PPS a slice uses). Framing (Annex B, length-prefixed) is
/// `NALUnits`'s.
///
/// Copying a stream's packets between re-encoded stretches (`--copy-unlabeled`) means a
/// decoder must find both sets of parameter sets: the input's and the encoder's, under
/// distinct ids.
public enum H264Bitstream {
    /// NAL unit types used here (ITU-T H.264 table 7-1).
    public static let idrSlice: UInt8 = 5
    public static let sps: UInt8 = 7
    public static let pps: UInt8 = 8
    public static let accessUnitDelimiter: UInt8 = 9

    public static func nalType(_ nal: ArraySlice<UInt8>) -> UInt8 { nal.first.map { $0 & 0x1F } ?? 0 }

    /// `seq_parameter_set_id` of an SPS NAL unit.
    public static func spsID(_ nal: ArraySlice<UInt8>) -> Int? {
        var r = BitReader(rbsp: nal.dropFirst())
        guard r.skip(24) else { return nil }  // profile_idc, constraint flags, level_idc
        return r.ue()
    }

    /// `pic_parameter_set_id` and the `seq_parameter_set_id` it refers to, of a PPS NAL unit.
    public static func ppsIDs(_ nal: ArraySlice<UInt8>) -> (pps: Int, sps: Int)? {
        var r = BitReader(rbsp: nal.dropFirst())
        guard let p = r.ue(), let s = r.ue() else { return nil }
        return (p, s)
    }

    /// chroma_format_idc, bit depths (luma, chroma) of an SPS (4:2:0 8-bit for profiles
    /// without the fields).
    public static func spsFormat(_ nal: ArraySlice<UInt8>) -> (chroma: Int, lumaDepth: Int, chromaDepth: Int)? {
        guard let profile = nal.dropFirst().first else { return nil }
        var r = BitReader(rbsp: nal.dropFirst())
        guard r.skip(24), r.ue() != nil else { return nil }
        guard [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(Int(profile)) else { return (1, 8, 8) }
        guard let chroma = r.ue() else { return nil }
        if chroma == 3 { guard r.skip(1) else { return nil } }
        guard let l = r.ue(), let c = r.ue() else { return nil }
        return (chroma, l + 8, c + 8)
    }
}

/// Reads exp-Golomb coded fields from a NAL unit's payload, with emulation prevention bytes
/// (00 00 03) taken out.
struct BitReader {
    private var bytes: [UInt8] = []
    private var bit = 0

    init(rbsp nal: ArraySlice<UInt8>) {
        var zeros = 0
        for b in nal.prefix(64) {  // parameter-set ids lie in the first bytes
            if zeros >= 2 && b == 3 { zeros = 0; continue }
            bytes.append(b)
            zeros = b == 0 ? zeros + 1 : 0
        }
    }

    mutating func read(_ n: Int) -> Int? {
        guard bit + n <= bytes.count * 8 else { return nil }
        var v = 0
        for _ in 0..<n {
            v = v << 1 | Int(bytes[bit >> 3] >> (7 - UInt8(bit & 7)) & 1)
            bit += 1
        }
        return v
    }

    mutating func skip(_ n: Int) -> Bool { read(n) != nil }

    mutating func ue() -> Int? {
        var zeros = 0
        while true {
            guard let b = read(1) else { return nil }
            if b == 1 { break }
            zeros += 1
            if zeros > 31 { return nil }
        }
        guard let rest = read(zeros) else { return nil }
        return (1 << zeros) - 1 + rest
    }
}

/// The `avcC` record (ISO/IEC 14496-15 AVCDecoderConfigurationRecord): profile, level, the
/// NAL length size, and the parameter sets. Read from an MP4/Matroska/FLV stream's extradata
/// or built from Annex B parameter sets (MPEG-TS input).
public struct AVCConfiguration: Equatable, Sendable {
    public var profile: UInt8
    public var compatibility: UInt8
    public var level: UInt8
    public var lengthSize: Int
    public var sps: [[UInt8]]
    public var pps: [[UInt8]]
    /// High profiles: chroma_format, bit depths (written after the PPS list).
    public var chromaFormat = 1
    public var lumaDepth = 8
    public var chromaDepth = 8

    /// From extradata in either form (an `avcC` record, or Annex B SPS/PPS).
    public init?(extradata b: [UInt8]) {
        if let c = Self(avcC: b) { self = c; return }
        guard NALUnits.isAnnexB(b) else { return nil }
        self.init(parameterSets: NALUnits.splitAnnexB(b))
    }

    /// From parameter-set NAL units (others are ignored); nil without an SPS and a PPS.
    public init?(parameterSets nals: [ArraySlice<UInt8>]) {
        let s = nals.filter { H264Bitstream.nalType($0) == H264Bitstream.sps }
        let p = nals.filter { H264Bitstream.nalType($0) == H264Bitstream.pps }
        guard let first = s.first, first.count >= 4, !p.isEmpty else { return nil }
        let i = first.startIndex
        profile = first[i + 1]; compatibility = first[i + 2]; level = first[i + 3]
        lengthSize = 4
        sps = s.map(Array.init); pps = p.map(Array.init)
        if let f = H264Bitstream.spsFormat(first) { chromaFormat = f.chroma; lumaDepth = f.lumaDepth; chromaDepth = f.chromaDepth }
    }

    public init?(avcC b: [UInt8]) {
        guard b.count >= 7, b[0] == 1 else { return nil }
        profile = b[1]; compatibility = b[2]; level = b[3]
        lengthSize = Int(b[4] & 3) + 1
        var i = 5
        let spsCount = Int(b[i] & 0x1F)
        i += 1
        guard let s = NALUnits.readSized(b, at: &i, count: spsCount), i < b.count else { return nil }
        let ppsCount = Int(b[i])
        i += 1
        guard let p = NALUnits.readSized(b, at: &i, count: ppsCount) else { return nil }
        sps = s
        pps = p
        if [100, 110, 122, 144].contains(Int(profile)), i + 3 <= b.count {
            chromaFormat = Int(b[i] & 3); lumaDepth = Int(b[i + 1] & 7) + 8; chromaDepth = Int(b[i + 2] & 7) + 8
        } else if let f = sps.first.flatMap({ H264Bitstream.spsFormat($0[...]) }) {
            chromaFormat = f.chroma; lumaDepth = f.lumaDepth; chromaDepth = f.chromaDepth
        }
    }

    /// The record's bytes (4-byte NAL lengths).
    public var avcC: [UInt8] {
        var out: [UInt8] = [1, profile, compatibility, level, 0xFC | UInt8(lengthSize - 1), 0xE0 | UInt8(sps.count)]
        for s in sps { out += [UInt8(s.count >> 8), UInt8(s.count & 0xFF)] + s }
        out.append(UInt8(pps.count))
        for p in pps { out += [UInt8(p.count >> 8), UInt8(p.count & 0xFF)] + p }
        if [100, 110, 122, 144].contains(Int(profile)) {
            out += [0xFC | UInt8(chromaFormat & 3), 0xF8 | UInt8((lumaDepth - 8) & 7), 0xF8 | UInt8((chromaDepth - 8) & 7), 0]
        }
        return out
    }

    /// The parameter sets as Annex B (SPS first).
    public var annexB: [UInt8] { NALUnits.annexB((sps + pps).map { $0[...] }) }

    /// SPS ids in use.
    public var spsIDs: Set<Int> { Set(sps.compactMap { H264Bitstream.spsID($0[...]) }) }
    public var ppsIDs: Set<Int> { Set(pps.compactMap { H264Bitstream.ppsIDs($0[...])?.pps }) }
}
