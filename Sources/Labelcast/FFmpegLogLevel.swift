import CFFmpeg
import Foundation
import MediaIO

/// FFmpeg's own log output: silent unless the user asked for detail, and, when shown, passed
/// through `Redaction.text` like every other line labelcast prints. FFmpeg's default callback
/// would print its lines as they are, and some quote secrets (an SRT connection error shows
/// the passphrase option, the RTMP handshake the play path, which is the stream key).
public enum FFmpegLogLevel {
    public static func set(verbose: Bool) {
        installRedactingCallback()
        SRTLog.install(verbose: verbose)
        FFmpegLog.setLevel(verbose ? .warning : .quiet)
    }
}

/// Formats one FFmpeg log line, redacts it and writes it to stderr in one `write(2)`.
/// Called on whichever thread FFmpeg logs from; keeps no state.
private func installRedactingCallback() {
    av_log_set_callback { avcl, level, format, args in
        guard level <= av_log_get_level(), let format, let args else { return }
        var buffer = [CChar](repeating: 0, count: 2048)
        var printPrefix: Int32 = 1
        _ = av_log_format_line2(avcl, level, format, args, &buffer, Int32(buffer.count), &printPrefix)
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard !line.isEmpty else { return }
        var text = Redaction.text(line)
        if !text.hasSuffix("\n") { text += "\n" }
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { raw in _ = write(2, raw.baseAddress, raw.count) }
    }
}
