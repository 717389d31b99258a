import CFFmpeg

/// An FFmpeg call that failed: which call, FFmpeg's error code and its own text, and what
/// MediaIO was doing (the URL, the stream) when it failed.
public struct MediaError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The FFmpeg function (or MediaIO operation) that failed, e.g. `avformat_open_input`.
    public let call: String
    /// FFmpeg's negative error code, or 0 when the failure is MediaIO's own check.
    public let code: Int32
    /// FFmpeg's text for `code` (av_strerror), or MediaIO's own explanation.
    public let message: String
    /// What was being worked on: a URL (credentials redacted by the caller), a stream, a codec.
    public let context: String?

    public init(call: String, code: Int32, message: String? = nil, context: String? = nil) {
        self.call = call
        self.code = code
        self.message = message ?? MediaError.text(for: code)
        self.context = context
    }

    public var description: String {
        if let context { return "\(call) failed for \(context): \(message)" }
        return "\(call) failed: \(message)"
    }

    /// FFmpeg's text for an error code (av_strerror into a stack buffer).
    public static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        lc_err2str(code, &buffer, buffer.count)
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var isEndOfFile: Bool { code == lc_averror_eof() }
    public var isTryAgain: Bool { code == lc_averror_eagain() }
    public var isExit: Bool { code == lc_averror_exit() }
}

/// Throws a `MediaError` when an FFmpeg call returned a negative code; returns it otherwise.
@discardableResult
@inline(__always)
func check(_ code: Int32, _ call: @autoclosure () -> String, context: @autoclosure () -> String? = nil) throws -> Int32 {
    if code < 0 { throw MediaError(call: call(), code: code, context: context()) }
    return code
}

/// FFmpeg's own logging: quiet by default so a run prints only labelcast's lines.
public enum FFmpegLog {
    public enum Level: Int32, Sendable {
        case quiet = -8, error = 16, warning = 24, info = 32, verbose = 40, debug = 48
    }
    public static func setLevel(_ level: Level) { av_log_set_level(level.rawValue) }
}
