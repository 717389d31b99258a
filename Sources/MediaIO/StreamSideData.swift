import CFFmpeg

/// The picture properties a stream carries beside its codec parameters, in FFmpeg 5.1's
/// `AVStream.side_data`: the display matrix (MP4 `tkhd`, a phone's portrait rotation) and HDR10's
/// mastering display and light levels. A re-encode builds a new output stream, which starts
/// without any of them; these copy them over. Write to an output stream before its header.
public enum StreamSideData {
    /// The display rotation in degrees counter-clockwise (ffprobe's `rotation`), rounded to a
    /// quarter turn and brought into 0, 90, 180, 270; nil when the stream has no display matrix.
    public static func rotation(_ stream: UnsafePointer<AVStream>) -> Int? {
        guard let matrix = displayMatrix(stream) else { return nil }
        let degrees = matrix.withUnsafeBufferPointer { av_display_rotation_get($0.baseAddress) }
        guard degrees.isFinite else { return nil }
        let quarter = Int((degrees / 90).rounded())
        return ((quarter % 4) + 4) % 4 * 90
    }

    /// Whether the display matrix also mirrors the picture (a negative determinant).
    public static func isMirrored(_ stream: UnsafePointer<AVStream>) -> Bool {
        guard let m = displayMatrix(stream) else { return false }
        return Int64(m[0]) * Int64(m[4]) - Int64(m[1]) * Int64(m[3]) < 0
    }

    /// The nine 32-bit words of the display matrix (16.16 and 2.30 fixed point), or nil.
    public static func displayMatrix(_ stream: UnsafePointer<AVStream>) -> [Int32]? {
        var size = 0
        guard let p = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 else { return nil }
        return p.withMemoryRebound(to: Int32.self, capacity: 9) { Array(UnsafeBufferPointer(start: $0, count: 9)) }
    }

    /// The stream-level HDR10 metadata (container boxes), or nil.
    public static func hdr(_ stream: UnsafePointer<AVStream>) -> HDRMetadata? {
        var ms = 0, ls = 0
        let m = av_stream_get_side_data(stream, AV_PKT_DATA_MASTERING_DISPLAY_METADATA, &ms)
        let l = av_stream_get_side_data(stream, AV_PKT_DATA_CONTENT_LIGHT_LEVEL, &ls)
        return HDRMetadata(mastering: ms >= MemoryLayout<AVMasteringDisplayMetadata>.size ? m.map(UnsafeRawPointer.init) : nil,
                           light: ls >= MemoryLayout<AVContentLightMetadata>.size ? l.map(UnsafeRawPointer.init) : nil)
    }

    /// A decoded frame's HDR10 metadata (from the bitstream's SEI), or nil.
    public static func hdr(frame: Frame) -> HDRMetadata? {
        let m = av_frame_get_side_data(frame.pointer, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA)
        let l = av_frame_get_side_data(frame.pointer, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL)
        return HDRMetadata(mastering: m.flatMap { $0.pointee.data.map(UnsafeRawPointer.init) },
                           light: l.flatMap { $0.pointee.data.map(UnsafeRawPointer.init) })
    }

    /// Gives `output` the display matrix `words` (from ``displayMatrix(_:)``).
    public static func setDisplayMatrix(_ words: [Int32], on output: UnsafeMutablePointer<AVStream>) throws {
        precondition(words.count == 9)
        guard let p = av_stream_new_side_data(output, AV_PKT_DATA_DISPLAYMATRIX, 36) else {
            throw MediaError(call: "av_stream_new_side_data", code: lc_averror_enomem())
        }
        p.withMemoryRebound(to: Int32.self, capacity: 9) { dst in for i in 0..<9 { dst[i] = words[i] } }
    }

    /// Gives `output` the mastering display and light level side data that `hdr` has.
    public static func setHDR(_ hdr: HDRMetadata, on output: UnsafeMutablePointer<AVStream>) throws {
        if hdr.masteringDisplay != nil {
            guard let p = av_stream_new_side_data(output, AV_PKT_DATA_MASTERING_DISPLAY_METADATA,
                                                  MemoryLayout<AVMasteringDisplayMetadata>.size) else {
                throw MediaError(call: "av_stream_new_side_data", code: lc_averror_enomem())
            }
            hdr.write(mastering: UnsafeMutableRawPointer(p))
        }
        if hdr.contentLightLevel != nil {
            guard let p = av_stream_new_side_data(output, AV_PKT_DATA_CONTENT_LIGHT_LEVEL,
                                                  MemoryLayout<AVContentLightMetadata>.size) else {
                throw MediaError(call: "av_stream_new_side_data", code: lc_averror_enomem())
            }
            hdr.write(light: UnsafeMutableRawPointer(p))
        }
    }

    /// HDR10 metadata of the first decoded frame of stream `index` in the file at `url`, read
    /// through a second, short-lived open: HEVC carries it in SEI, which only a decode reveals,
    /// and the encoder (x265 takes it as a parameter) opens before the run decodes anything.
    /// Reads at most `maxPackets` packets; nil when there is none or the file cannot be read.
    public static func firstFrameHDR(url: String, streamIndex index: Int, maxPackets: Int = 200) -> HDRMetadata? {
        guard let demuxer = try? Demuxer(url: url, displayName: "probe"), index < demuxer.streams.count,
              let decoder = try? Decoder(stream: demuxer.stream(index), threads: 1) else { return nil }
        var packets = 0
        while packets < maxPackets, let result = try? demuxer.read(), case .packet(let packet) = result {
            guard packet.streamIndex == index else { continue }
            packets += 1
            guard (try? decoder.send(packet)) != nil else { return nil }
            if case .output(let frame)? = try? decoder.receive() { return hdr(frame: frame) }
        }
        return nil
    }
}
