import MediaIO

/// FFmpeg's own log output: silent unless the user asked for detail.
public enum FFmpegLogLevel {
    public static func set(verbose: Bool) { FFmpegLog.setLevel(verbose ? .warning : .quiet) }
}
