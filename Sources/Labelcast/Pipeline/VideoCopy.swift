import CFFmpeg
import Foundation
import MediaIO

/// Input packets of one closed GOP that go to the output as they are (`--copy-unlabeled`):
/// nothing in the GOP is synthetic, so nothing in it needs a label. Passed down the video lane
/// in order with the decoded frames, so the encode stage can finish the re-encoded stretch
/// before it (and the muxer sees one stream in DTS order). Timestamps in the input's time base.
struct CopiedRun: @unchecked Sendable {
    var packets: [Packet]
    /// Which packets hold an IDR picture (read once, by the decode stage).
    var idr: [Bool]
    var traces: [FrameTrace]
    /// Media time the GOP's pictures cover (first picture to the end of the last).
    let start: Double
    let end: Double
    /// Audio (copying unlabeled audio): one input packet offered for copying, decided at the
    /// encode stage (`AudioCopyFormat`); its frame's samples come down the lane as well, so
    /// stages before the encoder count nothing for it.
    var offered = false
    /// Audio: the decode stage offers no more packets (a reconnect to another AAC set-up, a
    /// packet without a timestamp): the lane encodes everything from here on.
    var stopsCopy = false

    init(packets: [Packet], idr: [Bool], traces: [FrameTrace], start: Double, end: Double) {
        self.packets = packets; self.idr = idr; self.traces = traces; self.start = start; self.end = end
    }
}

/// The codecs `--copy-unlabeled` copies, and what differs between them: the NAL unit syntax,
/// the decoder configuration record, and how the re-encoded stretches' parameter sets live
/// next to the input's.
///
/// - H.264: x264 takes an SPS/PPS id (`sps-id`) the input does not use, so one `avcC` holds
///   both sets and each slice finds its own.
/// - HEVC: x265 always uses id 0, like most inputs, so the two sets cannot sit side by side:
///   every random access point of the output carries its own VPS/SPS/PPS in-band (x265
///   `repeat-headers`; copied ones get the input's in front when they lack them) and a decoder
///   re-activates the right sets at each join. The `hvcC` holds the input's (`hev1`-style:
///   arrays not complete).
enum VideoCopyCodec: Equatable, Sendable {
    case h264, hevc

    init?(_ id: AVCodecID) {
        switch id {
        case AV_CODEC_ID_H264: self = .h264
        case AV_CODEC_ID_HEVC: self = .hevc
        default: return nil
        }
    }

    var name: String { self == .h264 ? "H.264" : "HEVC" }
    /// The encoder the re-encoded stretches need (options it is given: `VideoCopyFormat.configure`).
    var encoderName: String { self == .h264 ? "libx264" : "libx265" }

    func nalType(_ nal: ArraySlice<UInt8>) -> UInt8 {
        self == .h264 ? H264Bitstream.nalType(nal) : HEVCBitstream.nalType(nal)
    }

    /// A picture after which nothing references anything before (IDR).
    func isClosedGOPEdge(_ type: UInt8) -> Bool {
        self == .h264 ? type == H264Bitstream.idrSlice : HEVCBitstream.isIDR(type)
    }

    /// Where the output must carry the parameter sets in-band: H.264 IDRs; every HEVC IRAP
    /// (the two parameter sets share ids, so a decoder that seeks there must be given the
    /// right ones).
    func needsParameterSets(_ type: UInt8) -> Bool {
        self == .h264 ? type == H264Bitstream.idrSlice : HEVCBitstream.isIRAP(type)
    }

    /// The NAL type that tells whether a random access point already carries its sets.
    var leadingParameterSet: UInt8 { self == .h264 ? H264Bitstream.sps : HEVCBitstream.vps }
    var accessUnitDelimiter: UInt8 { self == .h264 ? H264Bitstream.accessUnitDelimiter : HEVCBitstream.accessUnitDelimiter }
}

/// A stream's decoder configuration: `avcC` or `hvcC`, read from extradata in either form.
enum DecoderConfiguration: Equatable, Sendable {
    case avc(AVCConfiguration)
    case hevc(HEVCConfiguration)

    init?(codec: VideoCopyCodec, extradata: [UInt8]) {
        switch codec {
        case .h264: guard let c = AVCConfiguration(extradata: extradata) else { return nil }; self = .avc(c)
        case .hevc: guard let c = HEVCConfiguration(extradata: extradata) else { return nil }; self = .hevc(c)
        }
    }

    var lengthSize: Int {
        switch self {
        case .avc(let c): return c.lengthSize
        case .hevc(let c): return c.lengthSize
        }
    }

    /// The parameter sets in the order they go in-band (SPS, PPS; VPS, SPS, PPS).
    var parameterSets: [[UInt8]] {
        switch self {
        case .avc(let c): return c.sps + c.pps
        case .hevc(let c): return c.parameterSets
        }
    }
}

/// What `--copy-unlabeled` needs of an H.264 or HEVC stream: which packets start a closed GOP
/// (an IDR), the packet form the output's stream declares, and parameter sets for both the
/// copied stretches (the input's) and the re-encoded ones (the encoder's), so a decoder
/// decodes the whole output without a reset.
///
/// - MP4/MOV, Matroska (and FLV for H.264) carry length-prefixed NAL units and a record:
///   H.264's `avcC` holds the input's parameter sets and the encoder's (x264 `sps-id`); HEVC's
///   `hvcC` the input's, with every IRAP carrying its sets in-band (`VideoCopyCodec`). Encoded
///   packets are rewritten from Annex B to 4-byte lengths.
/// - MPEG-TS carries Annex B with the parameter sets in-band: copied random access points get
///   the input's in front when they do not carry them (as `h264_mp4toannexb` would); the
///   encoder repeats its own on every IDR.
final class VideoCopyFormat: @unchecked Sendable {
    enum Form: Equatable { case annexB, lengthPrefixed(Int) }
    let codec: VideoCopyCodec
    private(set) var input: Form
    private(set) var inputConfig: DecoderConfiguration
    let outputAnnexB: Bool
    /// H.264: the SPS/PPS id the encoder is told to use (`x264-params sps-id`), unused by the
    /// input. HEVC: nil (x265 cannot choose).
    let encoderParameterSetID: Int?
    /// H.264: the encoder's parameter sets, once the first encoder is open (global-header outputs).
    var encoderConfig: AVCConfiguration?

    /// nil when the stream's parameter sets cannot be read (no extradata, malformed), or an
    /// H.264 input uses every SPS/PPS id.
    init?(codec: VideoCopyCodec, stream: UnsafeMutablePointer<AVStream>, outputAnnexB: Bool) {
        let extradata = CodecExtradata.get(stream.pointee.codecpar)
        guard let config = DecoderConfiguration(codec: codec, extradata: extradata) else { return nil }
        self.codec = codec
        inputConfig = config
        input = extradata.first == 1 ? .lengthPrefixed(config.lengthSize) : .annexB
        self.outputAnnexB = outputAnnexB
        if case .avc(let avc) = config {
            let used = avc.spsIDs.union(avc.ppsIDs)
            guard let free = (0...31).first(where: { !used.contains($0) }) else { return nil }
            encoderParameterSetID = free
        } else {
            encoderParameterSetID = nil
        }
    }

    /// A live input reconnected: its new parameter sets. Whether copying can go on — the same
    /// parameter sets, or an Annex B output (each random access point carries its own); a
    /// record written in the output's header cannot take a new publisher's.
    func newSource(extradata: [UInt8]) -> Bool {
        guard let config = DecoderConfiguration(codec: codec, extradata: extradata) else { return false }
        let form: Form = extradata.first == 1 ? .lengthPrefixed(config.lengthSize) : .annexB
        if config.parameterSets == inputConfig.parameterSets {
            input = form
            return true
        }
        guard outputAnnexB else { return false }
        if case .avc(let avc) = config, let id = encoderParameterSetID, avc.spsIDs.union(avc.ppsIDs).contains(id) { return false }
        input = form
        inputConfig = config
        return true
    }

    /// Output formats whose packets of this codec this can write (others: full transcode).
    /// HLS: MPEG-TS segments unless `hls_segment_type` says fMP4 (whose init segment carries
    /// the record); DASH: fMP4. FFmpeg 5.1's FLV muxer takes no HEVC.
    static func outputAnnexB(codec: VideoCopyCodec, formatName: String, hlsSegmentType: String? = nil) -> Bool? {
        switch formatName {
        case "mpegts": return true
        case "hls": return !["fmp4", "1"].contains(hlsSegmentType?.lowercased() ?? "")
        case "mp4", "mov", "ipod", "matroska", "dash": return false
        case "flv": return codec == .h264 ? false : nil
        default: return nil
        }
    }

    /// Sets up the re-encoded stretches' encoder so they decode with the copied ones' decoder
    /// set-up: the input's profile and level, no B-frames (so the input's DTS sequence fits),
    /// the input's IDRs kept as IDRs (`forced-idr`), closed GOPs, and parameter sets a decoder
    /// can tell from the input's (x264: an unused id; x265: in-band on every IRAP).
    func configure(_ settings: inout VideoEncoderSettings) {
        settings.options["forced-idr"] = "1"
        switch inputConfig {
        case .avc(let c):
            var params = settings.options["x264-params"].map { [$0] } ?? []
            if let id = encoderParameterSetID { params.append("sps-id=\(id)") }
            settings.options["x264-params"] = params.joined(separator: ":")
            settings.options["bf"] = "0"
            if let p = Self.x264Profile(c.profile) { settings.options["profile"] = p }
            let l = Int(c.level)
            if l > 0 { settings.options["level"] = l == 9 ? "1b" : "\(l / 10).\(l % 10)" }
        case .hevc(let c):
            var params = settings.options["x265-params"].map { [$0] } ?? []
            params += ["bframes=0", "open-gop=0", "repeat-headers=1"]
            if c.levelIDC > 0 {
                params.append("level-idc=\(c.levelIDC / 30).\(c.levelIDC % 30 / 3)")
                if c.highTier { params.append("high-tier=1") }
            }
            settings.options["x265-params"] = params.joined(separator: ":")
            if let p = Self.x265Profile(c) { settings.options["profile"] = p }
        }
    }

    /// x264 profile names by profile_idc.
    static func x264Profile(_ idc: UInt8) -> String? {
        switch idc {
        case 66: return "baseline"
        case 77: return "main"
        case 100: return "high"
        case 110: return "high10"
        case 122: return "high422"
        case 244: return "high444"
        default: return nil
        }
    }

    /// x265 profile names by general_profile_idc (format range extensions by chroma format
    /// and bit depth).
    static func x265Profile(_ c: HEVCConfiguration) -> String? {
        switch c.profileIDC {
        case 1: return "main"
        case 2: return "main10"
        case 3: return "mainstillpicture"
        case 4:
            let chroma = [0: "main", 1: "main", 2: "main422", 3: "main444"][c.chromaFormat] ?? "main444"
            let depth = max(c.lumaDepth, c.chromaDepth)
            if c.chromaFormat == 1 { return depth <= 10 ? "main10" : "main12" }
            return chroma + (depth <= 8 ? "-8" : depth <= 10 ? "-10" : "-12")
        default: return nil
        }
    }

    private func nals(_ bytes: [UInt8], form: Form) -> [ArraySlice<UInt8>]? {
        switch form {
        case .annexB: return NALUnits.splitAnnexB(bytes)
        case .lengthPrefixed(let n): return NALUnits.splitLengthPrefixed(bytes, lengthSize: n)
        }
    }

    /// Whether an input packet holds an IDR picture (a closed GOP starts there). Open-GOP
    /// recovery points (H.264 recovery-point I pictures, HEVC CRA and BLA) are keyframes to the
    /// demuxer but not GOP edges: their leading pictures reference the GOP before.
    func isIDR(_ p: Packet) -> Bool {
        guard p.isKeyframe, let units = nals(p.data, form: input) else { return false }
        return units.contains { codec.isClosedGOPEdge(codec.nalType($0)) }
    }

    /// An input packet in the output's form, with the input's parameter sets in front of a
    /// random access point that lacks them where the output needs them in-band (Annex B
    /// output; HEVC in any output). `idr`: it holds an IDR picture (`isIDR`).
    func copied(_ p: Packet, idr: Bool) -> Packet {
        let inBand = outputAnnexB || codec == .hevc
        if !outputAnnexB, input == .lengthPrefixed(4), !(inBand && p.isKeyframe) { return p }
        guard let units = nals(p.data, form: input) else { return p }
        var out = units
        let needsSets = codec == .h264 ? idr : units.contains { codec.needsParameterSets(codec.nalType($0)) }
        if inBand && needsSets && !units.contains(where: { codec.nalType($0) == codec.leadingParameterSet }) {
            // Parameter sets in front of the picture, after an access unit delimiter if any.
            let at = units.first.map { codec.nalType($0) == codec.accessUnitDelimiter } == true ? 1 : 0
            out.insert(contentsOf: inputConfig.parameterSets.map { $0[...] }, at: at)
        }
        if outputAnnexB {
            if input == .annexB && out.count == units.count { return p }
            p.replacePayload(NALUnits.annexB(out))
        } else {
            if input == .lengthPrefixed(4) && out.count == units.count { return p }
            p.replacePayload(NALUnits.lengthPrefixed(out))
        }
        return p
    }

    /// An encoder packet (libx264 and libx265 write Annex B) in the output's form.
    func encoded(_ p: Packet) -> Packet {
        guard !outputAnnexB else { return p }
        let bytes = p.data
        guard NALUnits.isAnnexB(bytes) else { return p }
        p.replacePayload(NALUnits.lengthPrefixed(NALUnits.splitAnnexB(bytes)))
        return p
    }

    /// The output stream's extradata. H.264: both sets of parameter sets in one `avcC`. HEVC:
    /// the input's `hvcC`, its arrays marked incomplete (the encoder's sets travel in-band).
    var outputExtradata: [UInt8] {
        switch inputConfig {
        case .avc(let input):
            var merged = input
            merged.lengthSize = 4
            if let e = encoderConfig {
                merged.sps += e.sps
                merged.pps += e.pps
                merged.level = max(merged.level, e.level)
            }
            return outputAnnexB ? merged.annexB : merged.avcC
        case .hevc(let input):
            var record = input
            record.lengthSize = 4
            for i in record.arrays.indices { record.arrays[i].complete = false }
            return outputAnnexB ? record.annexB : record.hvcC
        }
    }
}
