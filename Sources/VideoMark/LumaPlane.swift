/// A luma plane in memory, described without FFmpeg: what the embedder writes and the detector
/// reads. Samples of 8 bits take one byte; deeper samples a 16-bit little-endian word with the
/// value in the low bits, or in the high bits when `msbAligned` (P010) — the layouts the
/// visible-label blender (`Overlay.PixelLayout`) takes.
public struct LumaPlane {
    public var base: UnsafeMutableRawPointer
    public var width: Int
    public var height: Int
    /// Bytes from one row to the next (FFmpeg's linesize); may exceed `width * bytesPerSample`.
    public var stride: Int
    /// Significant bits per sample, 8...16.
    public var bitDepth: Int
    public var msbAligned: Bool

    public init(base: UnsafeMutableRawPointer, width: Int, height: Int, stride: Int, bitDepth: Int = 8, msbAligned: Bool = false) {
        self.base = base
        self.width = width
        self.height = height
        self.stride = stride
        self.bitDepth = bitDepth
        self.msbAligned = msbAligned
    }

    var bytesPerSample: Int { bitDepth > 8 ? 2 : 1 }

    /// Why this plane cannot be marked or read, or nil when it can.
    var problem: VideoMarkError? {
        guard (8...16).contains(bitDepth), !(msbAligned && bitDepth == 8) else { return .unsupportedBitDepth(bitDepth) }
        guard width >= VideoMarkLayout.minimumSide, height >= VideoMarkLayout.minimumSide else {
            return .frameTooSmall(width: width, height: height)
        }
        guard stride >= width * bytesPerSample else { return .badStride(stride: stride, width: width) }
        return nil
    }
}
