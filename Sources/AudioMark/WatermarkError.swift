/// An error from the AudioMark watermark: what was wrong and with which value.
public struct WatermarkError: Error, CustomStringConvertible, Sendable, Equatable {
    private enum Code: Sendable, Equatable {
        case keyTooShort(Int)
        case unsupportedSampleRate(Int)
        case unsupportedChannelCount(Int)
    }
    private let code: Code

    public static func keyTooShort(byteCount: Int) -> WatermarkError { .init(code: .keyTooShort(byteCount)) }
    public static func unsupportedSampleRate(_ rate: Int) -> WatermarkError { .init(code: .unsupportedSampleRate(rate)) }
    public static func unsupportedChannelCount(_ count: Int) -> WatermarkError { .init(code: .unsupportedChannelCount(count)) }

    public var description: String {
        switch code {
        case .keyTooShort(let n):
            return "watermark key is \(n) byte(s); it needs at least \(WatermarkKey.minimumLength) bytes of secret material"
        case .unsupportedSampleRate(let r):
            return "sample rate \(r) Hz is not supported by the audio watermark (8000...192000 Hz)"
        case .unsupportedChannelCount(let c):
            return "channel count \(c) is not supported by the audio watermark (1...64)"
        }
    }
}
