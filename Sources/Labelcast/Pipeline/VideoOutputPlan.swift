import CFFmpeg
import Foundation
import Logging
import MediaIO

/// What the video output keeps of the input's picture, decided once from the input stream and
/// its decoder before the encoder opens: the codec (10-bit HEVC stays HEVC), interlaced coding
/// and field order, HDR10 metadata, and the display matrix. labelcast changes the picture only
/// where the label goes; everything else a player needs to show it as the input showed stays.
///
/// The sample aspect ratio, frame rate, time base and colour tags are set by the lane itself
/// (they come straight from the decoder); this covers what needs more than a copied field.
struct VideoOutputPlan {
    /// The encoder to use: the user's `--video-codec`, else one that carries the input's format.
    var codecName: String
    /// The input's display matrix (nine words), copied to the output stream.
    let displayMatrix: [Int32]?
    /// Degrees counter-clockwise, for laying out the label on the displayed picture.
    let rotation: Int
    /// The input's field order; interlaced coding when it is not progressive/unknown.
    let fieldOrder: AVFieldOrder
    /// HDR10 static metadata of the input (stream side data, else the first frame's SEI).
    let hdr: HDRMetadata?
    /// One-line notices about what the output cannot keep, logged once at set-up.
    private(set) var notices: [String] = []

    init(job: LabelJob, stream: UnsafeMutablePointer<AVStream>, decoder: Decoder, muxer: Muxer) {
        let dctx = decoder.context.pointee
        let depth = av_pix_fmt_desc_get(dctx.pix_fmt).map { Int($0.pointee.comp.0.depth) } ?? 8
        var codec = job.video.codec
        // Copying unlabeled video: HEVC stretches re-encoded between copied ones must be HEVC.
        if !job.video.codecChosen, dctx.codec_id == AV_CODEC_ID_HEVC, depth > 8 || Self.isHDR(dctx.color_trc) || job.copyWanted,
           Encoder.exists("libx265"),
           avformat_query_codec(muxer.context.pointee.oformat, AV_CODEC_ID_HEVC, FF_COMPLIANCE_NORMAL) == 1
            || (job.copyWanted && OutputCodecPolicy(muxer: muxer).takes(AV_CODEC_ID_HEVC)) {
            codec = "libx265"  // H.264 High 10 plays on far fewer devices than the HEVC it came as
        }
        codecName = codec
        displayMatrix = StreamSideData.displayMatrix(stream)
        rotation = StreamSideData.rotation(stream) ?? 0
        if StreamSideData.isMirrored(stream) {
            notices.append("video: the input's display matrix mirrors the picture; the matrix is kept, but the label is laid out for its rotation only and reads mirrored")
        }
        fieldOrder = dctx.field_order
        var hdr = StreamSideData.hdr(stream)
        if hdr == nil, Self.isHDR(dctx.color_trc), Muxer.isFilePath(job.input), FileManager.default.isReadableFile(atPath: job.input) {
            hdr = StreamSideData.firstFrameHDR(url: job.input, streamIndex: Int(stream.pointee.index))
        }
        self.hdr = hdr
        if hdr != nil, codec != "libx265" {
            notices.append("video: the input's HDR10 metadata (\(hdr!)) goes into the container only: \(codec) does not write it into the bitstream (libx265 does)")
        }
        if isInterlaced, codec != "libx264" {
            notices.append("video: the input is interlaced (\(Self.name(fieldOrder))); \(codec) codes it as progressive pictures (field order flagged); libx264 keeps interlaced coding")
        }
    }

    /// Whether the input is coded as fields (top or bottom first).
    var isInterlaced: Bool { fieldOrder != AV_FIELD_UNKNOWN && fieldOrder != AV_FIELD_PROGRESSIVE }

    /// Sets interlacing and HDR on the encoder settings the lane built.
    func apply(to settings: inout VideoEncoderSettings) {
        settings.fieldOrder = fieldOrder
        settings.interlaced = isInterlaced && codecName == "libx264"
        if codecName == "libx265" {
            // x265 prints its banner and statistics on stderr itself, past FFmpeg's log level.
            var params = settings.options["x265-params"].map { [$0] } ?? ["log-level=error"]
            if let hdr { params += hdr.x265Params }
            settings.options["x265-params"] = params.joined(separator: ":")
        }
    }

    /// Writes the display matrix and HDR side data on the output stream (before the header).
    func apply(toOutput stream: UnsafeMutablePointer<AVStream>) throws {
        if let displayMatrix { try StreamSideData.setDisplayMatrix(displayMatrix, on: stream) }
        if let hdr { try StreamSideData.setHDR(hdr, on: stream) }
    }

    static func isHDR(_ trc: AVColorTransferCharacteristic) -> Bool {
        trc == AVCOL_TRC_SMPTE2084 || trc == AVCOL_TRC_ARIB_STD_B67
    }

    static func name(_ order: AVFieldOrder) -> String {
        switch order {
        case AV_FIELD_TT: return "top field first"
        case AV_FIELD_BB: return "bottom field first"
        case AV_FIELD_TB: return "top coded first, bottom shown first"
        case AV_FIELD_BT: return "bottom coded first, top shown first"
        case AV_FIELD_PROGRESSIVE: return "progressive"
        default: return "unknown"
        }
    }
}
