/// An error from the video mark: what was wrong and with which value.
public struct VideoMarkError: Error, CustomStringConvertible, Sendable, Equatable {
    private enum Code: Sendable, Equatable {
        case unsupportedBitDepth(Int)
        case frameTooSmall(Int, Int)
        case badStride(Int, Int)
    }
    private let code: Code

    public static func unsupportedBitDepth(_ bits: Int) -> VideoMarkError { .init(code: .unsupportedBitDepth(bits)) }
    public static func frameTooSmall(width: Int, height: Int) -> VideoMarkError { .init(code: .frameTooSmall(width, height)) }
    public static func badStride(stride: Int, width: Int) -> VideoMarkError { .init(code: .badStride(stride, width)) }

    public var description: String {
        switch code {
        case .unsupportedBitDepth(let b):
            return "luma bit depth \(b) is not supported by the video mark (8...16 bits)"
        case .frameTooSmall(let w, let h):
            return "frame \(w)x\(h) is too small for the video mark (at least \(VideoMarkLayout.minimumSide) pixels each side)"
        case .badStride(let s, let w):
            return "luma stride \(s) bytes is shorter than a row of \(w) samples"
        }
    }
}
