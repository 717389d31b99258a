import CFFmpeg

/// HDR10's static metadata: the mastering display's colour volume (SMPTE ST 2086) and the
/// content light levels (CTA-861.3 MaxCLL/MaxFALL). A player tone-maps with them, so a
/// re-encode that drops them changes how the programme looks on every HDR screen.
///
/// Read from a stream's side data (MP4 `mdcv`/`clli`, Matroska colour elements) or a decoded
/// frame's (the HEVC/H.264 SEI), and written back as stream side data and, for x265, as its
/// `master-display`/`max-cll` parameters (FFmpeg 5.1's libx265 wrapper ignores frame side data).
public struct HDRMetadata: Sendable, Hashable, CustomStringConvertible {
    /// CIE 1931 xy chromaticity.
    public struct Chromaticity: Sendable, Hashable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) { self.x = x; self.y = y }
    }
    /// The mastering display: primaries red, green, blue, white point, luminance range (cd/m²).
    public struct MasteringDisplay: Sendable, Hashable {
        public var red: Chromaticity
        public var green: Chromaticity
        public var blue: Chromaticity
        public var whitePoint: Chromaticity
        public var minLuminance: Double
        public var maxLuminance: Double
        public init(red: Chromaticity, green: Chromaticity, blue: Chromaticity, whitePoint: Chromaticity,
                    minLuminance: Double, maxLuminance: Double) {
            self.red = red; self.green = green; self.blue = blue; self.whitePoint = whitePoint
            self.minLuminance = minLuminance; self.maxLuminance = maxLuminance
        }
    }
    /// Content light level: brightest pixel (MaxCLL) and brightest frame average (MaxFALL), cd/m².
    public struct ContentLightLevel: Sendable, Hashable {
        public var maxCLL: Int
        public var maxFALL: Int
        public init(maxCLL: Int, maxFALL: Int) { self.maxCLL = maxCLL; self.maxFALL = maxFALL }
    }

    public var masteringDisplay: MasteringDisplay?
    public var contentLightLevel: ContentLightLevel?

    public init(masteringDisplay: MasteringDisplay? = nil, contentLightLevel: ContentLightLevel? = nil) {
        self.masteringDisplay = masteringDisplay
        self.contentLightLevel = contentLightLevel
    }

    public var isEmpty: Bool { masteringDisplay == nil && contentLightLevel == nil }

    /// x265's `--master-display` / `--max-cll` (and `hdr10=1`, which makes x265 write them as
    /// SEI on every keyframe), joined for `x265-params`. Chromaticities in 1/50000, luminance
    /// in 1/10000 cd/m², as x265 and ST 2086 count them.
    public var x265Params: [String] {
        var out = ["hdr10=1"]
        if let m = masteringDisplay {
            func xy(_ c: Chromaticity) -> String { "\(Int((c.x * 50000).rounded())),\(Int((c.y * 50000).rounded()))" }
            out.append("master-display=G(\(xy(m.green)))B(\(xy(m.blue)))R(\(xy(m.red)))WP(\(xy(m.whitePoint)))"
                       + "L(\(Int((m.maxLuminance * 10000).rounded())),\(Int((m.minLuminance * 10000).rounded())))")
        }
        if let c = contentLightLevel { out.append("max-cll=\(c.maxCLL),\(c.maxFALL)") }
        return out
    }

    public var description: String {
        var parts: [String] = []
        if let m = masteringDisplay { parts.append("mastering display \(m.minLuminance)-\(m.maxLuminance) cd/m²") }
        if let c = contentLightLevel { parts.append("MaxCLL \(c.maxCLL), MaxFALL \(c.maxFALL)") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    // MARK: FFmpeg's structs

    init?(mastering p: UnsafeRawPointer?, light l: UnsafeRawPointer?) {
        if let p {
            let m = p.assumingMemoryBound(to: AVMasteringDisplayMetadata.self).pointee
            if m.has_primaries != 0 && m.has_luminance != 0 {
                func c(_ pair: (AVRational, AVRational)) -> Chromaticity { Chromaticity(x: av_q2d(pair.0), y: av_q2d(pair.1)) }
                masteringDisplay = MasteringDisplay(red: c(m.display_primaries.0), green: c(m.display_primaries.1),
                                                    blue: c(m.display_primaries.2), whitePoint: c(m.white_point),
                                                    minLuminance: av_q2d(m.min_luminance), maxLuminance: av_q2d(m.max_luminance))
            }
        }
        if let l {
            let c = l.assumingMemoryBound(to: AVContentLightMetadata.self).pointee
            contentLightLevel = ContentLightLevel(maxCLL: Int(c.MaxCLL), maxFALL: Int(c.MaxFALL))
        }
        if isEmpty { return nil }
    }

    func write(mastering p: UnsafeMutableRawPointer) {
        guard let m = masteringDisplay else { return }
        func q(_ v: Double, _ den: Int32) -> AVRational { AVRational(num: Int32((v * Double(den)).rounded()), den: den) }
        func c(_ v: Chromaticity) -> (AVRational, AVRational) { (q(v.x, 50000), q(v.y, 50000)) }
        var out = AVMasteringDisplayMetadata()
        out.display_primaries = (c(m.red), c(m.green), c(m.blue))
        out.white_point = c(m.whitePoint)
        out.min_luminance = q(m.minLuminance, 10000)
        out.max_luminance = q(m.maxLuminance, 10000)
        out.has_primaries = 1
        out.has_luminance = 1
        p.assumingMemoryBound(to: AVMasteringDisplayMetadata.self).pointee = out
    }

    func write(light p: UnsafeMutableRawPointer) {
        guard let c = contentLightLevel else { return }
        p.assumingMemoryBound(to: AVContentLightMetadata.self).pointee =
            AVContentLightMetadata(MaxCLL: UInt32(clamping: c.maxCLL), MaxFALL: UInt32(clamping: c.maxFALL))
    }
}
