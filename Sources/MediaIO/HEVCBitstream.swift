/// The few HEVC syntax elements a packet copy needs (ITU-T H.265): NAL unit types (is this a
/// closed-GOP edge, a random access point, a parameter set?) and, from an SPS, what the
/// `hvcC` record states about the stream (profile, tier, level, chroma format, bit depth).
/// Framing (Annex B, length-prefixed) is `NALUnits`'s.
///
/// Unlike x264, x265 cannot be told which parameter-set ids to use (always 0, as most inputs
/// do), so a copy cannot keep both sets under distinct ids: every random access point in the
/// output carries its own VPS/SPS/PPS in-band instead, and a decoder re-activates the right
/// ones at each join.
public enum HEVCBitstream {
    /// NAL unit types used here (ITU-T H.265 table 7-1).
    public static let blaWithLeading: UInt8 = 16
    public static let idrWithLeading: UInt8 = 19   // IDR_W_RADL
    public static let idrNoLeading: UInt8 = 20     // IDR_N_LP
    public static let cleanRandomAccess: UInt8 = 21
    public static let lastIRAP: UInt8 = 23         // RSV_IRAP_VCL23
    public static let vps: UInt8 = 32
    public static let sps: UInt8 = 33
    public static let pps: UInt8 = 34
    public static let accessUnitDelimiter: UInt8 = 35

    /// nal_unit_type: the 6 bits after forbidden_zero_bit of the 2-byte NAL unit header.
    public static func nalType(_ nal: ArraySlice<UInt8>) -> UInt8 { nal.first.map { ($0 >> 1) & 0x3F } ?? 0xFF }

    /// An IDR picture: nothing after it references anything before (a closed-GOP edge).
    public static func isIDR(_ type: UInt8) -> Bool { type == idrWithLeading || type == idrNoLeading }

    /// An intra random access point (BLA, IDR, CRA): where a decoder may start, and so where
    /// the output must carry the parameter sets that picture's slices use.
    public static func isIRAP(_ type: UInt8) -> Bool { (blaWithLeading...lastIRAP).contains(type) }

    public static func isParameterSet(_ type: UInt8) -> Bool { (vps...pps).contains(type) }
}

/// The `hvcC` record (ISO/IEC 14496-15 HEVCDecoderConfigurationRecord): the stream's general
/// profile, tier and level, chroma format and bit depths, the NAL length size, and arrays of
/// NAL units (VPS, SPS, PPS, declarative SEI). Read from an MP4/Matroska stream's extradata or
/// built from Annex B parameter sets (MPEG-TS input).
public struct HEVCConfiguration: Equatable, Sendable {
    /// One array of the record: NAL units of one type.
    public struct NALArray: Equatable, Sendable {
        public var type: UInt8
        /// Whether all NAL units of this type are in the array (none in-band): 0 for a stream
        /// whose parameter sets also travel in-band (`hev1`).
        public var complete: Bool
        public var units: [[UInt8]]
    }

    /// general_profile_space, tier, profile_idc (1 byte), compatibility flags (4), constraint
    /// flags (6), level_idc (1): as the SPS's profile_tier_level and the record order them.
    public var generalProfileTierLevel: [UInt8]
    public var minSpatialSegmentation = 0
    public var parallelismType = 0
    public var chromaFormat = 1
    public var lumaDepth = 8
    public var chromaDepth = 8
    public var temporalLayers = 1
    public var temporalIDNested = false
    public var lengthSize = 4
    public var arrays: [NALArray]

    public var profileIDC: Int { Int(generalProfileTierLevel[0] & 0x1F) }
    public var highTier: Bool { generalProfileTierLevel[0] & 0x20 != 0 }
    /// general_level_idc: 30 × the level (93 for 3.1).
    public var levelIDC: Int { Int(generalProfileTierLevel[11]) }

    /// NAL units of a type, in record order.
    public func units(_ type: UInt8) -> [[UInt8]] { arrays.filter { $0.type == type }.flatMap(\.units) }

    /// VPS, SPS, PPS in the order a decoder needs them in-band.
    public var parameterSets: [[UInt8]] { units(HEVCBitstream.vps) + units(HEVCBitstream.sps) + units(HEVCBitstream.pps) }

    /// From extradata in either form (an `hvcC` record, or Annex B parameter sets).
    public init?(extradata b: [UInt8]) {
        if let c = Self(hvcC: b) { self = c; return }
        guard NALUnits.isAnnexB(b) else { return nil }
        self.init(parameterSets: NALUnits.splitAnnexB(b))
    }

    /// From NAL units (parameter sets and SEI are kept, others ignored); nil without a VPS,
    /// an SPS whose fields can be read, and a PPS.
    public init?(parameterSets nals: [ArraySlice<UInt8>]) {
        let kept: [UInt8] = [HEVCBitstream.vps, HEVCBitstream.sps, HEVCBitstream.pps, 39]
        var arrays: [NALArray] = []
        for type in kept {
            let units = nals.filter { HEVCBitstream.nalType($0) == type }.map(Array.init)
            if !units.isEmpty { arrays.append(NALArray(type: type, complete: false, units: units)) }
        }
        guard let sps = arrays.first(where: { $0.type == HEVCBitstream.sps })?.units.first,
              arrays.contains(where: { $0.type == HEVCBitstream.vps }), arrays.contains(where: { $0.type == HEVCBitstream.pps }),
              let f = Self.spsFields(sps[...]) else { return nil }
        self.arrays = arrays
        generalProfileTierLevel = f.ptl
        chromaFormat = f.chroma; lumaDepth = f.lumaDepth; chromaDepth = f.chromaDepth
        temporalLayers = f.subLayers; temporalIDNested = f.nested
    }

    public init?(hvcC b: [UInt8]) {
        guard b.count >= 23, b[0] == 1 else { return nil }
        generalProfileTierLevel = Array(b[1...12])
        minSpatialSegmentation = (Int(b[13]) << 8 | Int(b[14])) & 0x0FFF
        parallelismType = Int(b[15] & 3)
        chromaFormat = Int(b[16] & 3)
        lumaDepth = Int(b[17] & 7) + 8
        chromaDepth = Int(b[18] & 7) + 8
        temporalLayers = Int(b[21] >> 3 & 7)
        temporalIDNested = b[21] & 4 != 0
        lengthSize = Int(b[21] & 3) + 1
        var i = 23
        var arrays: [NALArray] = []
        for _ in 0..<Int(b[22]) {
            guard i + 3 <= b.count else { return nil }
            let complete = b[i] & 0x80 != 0, type = b[i] & 0x3F
            let count = Int(b[i + 1]) << 8 | Int(b[i + 2])
            i += 3
            guard let units = NALUnits.readSized(b, at: &i, count: count) else { return nil }
            arrays.append(NALArray(type: type, complete: complete, units: units))
        }
        guard lengthSize != 3 else { return nil }
        self.arrays = arrays
    }

    /// The record's bytes; avgFrameRate and constantFrameRate unspecified (0).
    public var hvcC: [UInt8] {
        var out: [UInt8] = [1] + generalProfileTierLevel
        out += [0xF0 | UInt8(minSpatialSegmentation >> 8 & 0x0F), UInt8(minSpatialSegmentation & 0xFF)]
        out += [0xFC | UInt8(parallelismType & 3), 0xFC | UInt8(chromaFormat & 3),
                0xF8 | UInt8((lumaDepth - 8) & 7), 0xF8 | UInt8((chromaDepth - 8) & 7), 0, 0]
        out.append(UInt8(temporalLayers & 7) << 3 | (temporalIDNested ? 4 : 0) | UInt8((lengthSize - 1) & 3))
        out.append(UInt8(arrays.count))
        for a in arrays {
            out += [(a.complete ? 0x80 : 0) | a.type & 0x3F, UInt8(a.units.count >> 8), UInt8(a.units.count & 0xFF)]
            for u in a.units { out += [UInt8(u.count >> 8), UInt8(u.count & 0xFF)] + u }
        }
        return out
    }

    /// The parameter sets as Annex B (VPS, SPS, PPS).
    public var annexB: [UInt8] { NALUnits.annexB(parameterSets.map { $0[...] }) }

    /// What the record states from an SPS: general profile_tier_level (12 bytes), sub-layer
    /// count and temporal nesting, chroma_format_idc, bit depths.
    static func spsFields(_ nal: ArraySlice<UInt8>) -> (ptl: [UInt8], subLayers: Int, nested: Bool, chroma: Int, lumaDepth: Int, chromaDepth: Int)? {
        var r = BitReader(rbsp: nal.dropFirst(2))
        guard r.skip(4), let maxSubLayersMinus1 = r.read(3), let nested = r.read(1) else { return nil }
        var ptl: [UInt8] = []
        for _ in 0..<12 { guard let byte = r.read(8) else { return nil }; ptl.append(UInt8(byte)) }
        var profilePresent: [Bool] = [], levelPresent: [Bool] = []
        for _ in 0..<maxSubLayersMinus1 {
            guard let p = r.read(1), let l = r.read(1) else { return nil }
            profilePresent.append(p == 1); levelPresent.append(l == 1)
        }
        if maxSubLayersMinus1 > 0 { guard r.skip(2 * (8 - maxSubLayersMinus1)) else { return nil } }
        for k in 0..<maxSubLayersMinus1 {
            if profilePresent[k] { guard r.skip(88) else { return nil } }
            if levelPresent[k] { guard r.skip(8) else { return nil } }
        }
        guard r.ue() != nil, let chroma = r.ue() else { return nil }  // sps_seq_parameter_set_id
        if chroma == 3 { guard r.skip(1) else { return nil } }
        guard r.ue() != nil, r.ue() != nil, let window = r.read(1) else { return nil }  // width, height
        if window == 1 { for _ in 0..<4 { guard r.ue() != nil else { return nil } } }
        guard let l = r.ue(), let c = r.ue() else { return nil }
        return (ptl, maxSubLayersMinus1 + 1, nested == 1, chroma, l + 8, c + 8)
    }
}
