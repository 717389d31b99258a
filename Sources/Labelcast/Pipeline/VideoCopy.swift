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
}

/// What `--copy-unlabeled` needs of an H.264 stream: which packets start a closed GOP (an
/// IDR), the packet form the output's stream declares, and parameter sets for both the copied
/// stretches (the input's SPS/PPS) and the re-encoded ones (the encoder's, under an id the
/// input does not use), so one decoder configuration serves the whole output.
///
/// - MP4/MOV, Matroska, FLV carry length-prefixed NAL units and an `avcC` record: the output's
///   record holds the input's parameter sets and the encoder's (x264 `sps-id`), and encoded
///   packets are rewritten from Annex B to 4-byte lengths.
/// - MPEG-TS carries Annex B with the parameter sets in-band: copied IDRs get the input's
///   SPS/PPS in front when they do not carry them (as `h264_mp4toannexb` would); x264 repeats
///   its own on every IDR.
final class H264CopyFormat: @unchecked Sendable {
    enum Form: Equatable { case annexB, lengthPrefixed(Int) }
    private(set) var input: Form
    private(set) var inputConfig: AVCConfiguration
    let outputAnnexB: Bool
    /// The SPS/PPS id the encoder is told to use (`x264-params sps-id`), unused by the input.
    let encoderParameterSetID: Int
    /// The encoder's parameter sets, once the first encoder is open (global-header outputs).
    var encoderConfig: AVCConfiguration?

    /// nil when the stream's parameter sets cannot be read (no extradata, malformed).
    init?(stream: UnsafeMutablePointer<AVStream>, outputAnnexB: Bool) {
        let extradata = CodecExtradata.get(stream.pointee.codecpar)
        guard let config = AVCConfiguration(extradata: extradata) else { return nil }
        inputConfig = config
        input = extradata.first == 1 ? .lengthPrefixed(config.lengthSize) : .annexB
        self.outputAnnexB = outputAnnexB
        let used = config.spsIDs.union(config.ppsIDs)
        guard let free = (0...31).first(where: { !used.contains($0) }) else { return nil }
        encoderParameterSetID = free
    }

    /// A live input reconnected: its new parameter sets. Whether copying can go on — the same
    /// parameter sets, or an Annex B output (each IDR carries its own); an `avcC` written in
    /// the output's header cannot take a new publisher's SPS/PPS.
    func newSource(extradata: [UInt8]) -> Bool {
        guard let config = AVCConfiguration(extradata: extradata) else { return false }
        let form: Form = extradata.first == 1 ? .lengthPrefixed(config.lengthSize) : .annexB
        if config.sps == inputConfig.sps && config.pps == inputConfig.pps {
            input = form
            return true
        }
        guard outputAnnexB, !config.spsIDs.union(config.ppsIDs).contains(encoderParameterSetID) else { return false }
        input = form
        inputConfig = config
        return true
    }

    /// Output formats whose H.264 packets this can write (others: full transcode).
    /// HLS: MPEG-TS segments unless `hls_segment_type` says fMP4 (whose init segment carries
    /// the `avcC`); DASH: fMP4.
    static func outputAnnexB(formatName: String, hlsSegmentType: String? = nil) -> Bool? {
        switch formatName {
        case "mpegts": return true
        case "hls": return !["fmp4", "1"].contains(hlsSegmentType?.lowercased() ?? "")
        case "mp4", "mov", "ipod", "matroska", "flv", "dash": return false
        default: return nil
        }
    }

    /// x264 profile names by profile_idc.
    var profileName: String? {
        switch inputConfig.profile {
        case 66: return "baseline"
        case 77: return "main"
        case 100: return "high"
        case 110: return "high10"
        case 122: return "high422"
        case 244: return "high444"
        default: return nil
        }
    }

    /// x264's level string (4.1 for level_idc 41); nil when unset.
    var levelName: String? {
        let l = Int(inputConfig.level)
        guard l > 0 else { return nil }
        return l == 9 ? "1b" : "\(l / 10).\(l % 10)"
    }

    private func nals(_ bytes: [UInt8], form: Form) -> [ArraySlice<UInt8>]? {
        switch form {
        case .annexB: return H264Bitstream.splitAnnexB(bytes)
        case .lengthPrefixed(let n): return H264Bitstream.splitLengthPrefixed(bytes, lengthSize: n)
        }
    }

    /// Whether an input packet holds an IDR picture (a closed GOP starts there). Open-GOP
    /// recovery points are keyframes to the demuxer but not GOP edges: their leading pictures
    /// reference the GOP before.
    func isIDR(_ p: Packet) -> Bool {
        guard p.isKeyframe, let units = nals(p.data, form: input) else { return false }
        return units.contains { H264Bitstream.nalType($0) == H264Bitstream.idrSlice }
    }

    /// An input packet in the output's form; `idr`: it holds an IDR picture (`isIDR`).
    func copied(_ p: Packet, idr: Bool) -> Packet {
        if !outputAnnexB, input == .lengthPrefixed(4) { return p }
        guard let units = nals(p.data, form: input) else { return p }
        if outputAnnexB {
            var out = units
            if idr && !units.contains(where: { H264Bitstream.nalType($0) == H264Bitstream.sps }) {
                // Parameter sets in front of the IDR, after an access unit delimiter if any.
                let at = units.first.map { H264Bitstream.nalType($0) == H264Bitstream.accessUnitDelimiter } == true ? 1 : 0
                out.insert(contentsOf: (inputConfig.sps + inputConfig.pps).map { $0[...] }, at: at)
            }
            if input == .annexB && out.count == units.count { return p }
            p.replacePayload(H264Bitstream.annexB(out))
        } else {
            p.replacePayload(H264Bitstream.lengthPrefixed(units))
        }
        return p
    }

    /// An encoder packet (libx264 writes Annex B) in the output's form.
    func encoded(_ p: Packet) -> Packet {
        guard !outputAnnexB else { return p }
        let bytes = p.data
        guard H264Bitstream.isAnnexB(bytes) else { return p }
        p.replacePayload(H264Bitstream.lengthPrefixed(H264Bitstream.splitAnnexB(bytes)))
        return p
    }

    /// The output stream's extradata: both sets of parameter sets.
    var outputExtradata: [UInt8] {
        var merged = inputConfig
        merged.lengthSize = 4
        if let e = encoderConfig {
            merged.sps += e.sps
            merged.pps += e.pps
            merged.level = max(merged.level, e.level)
        }
        return outputAnnexB ? merged.annexB : merged.avcC
    }
}
