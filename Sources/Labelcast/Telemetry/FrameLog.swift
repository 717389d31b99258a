import Foundation

/// `--frame-log`: one CSV row per frame written to the output, streamed to disk as the run goes
/// (one write(2) per row, no user-space buffer), so a killed run still leaves every row it wrote.
///
/// Columns (stable; documented in the README):
/// `seq,lane,media_time,synthetic,labeled,read_us,decoded_us,processed_us,encoded_us,written_us,decode_us,process_us,encode_us,mux_us,total_us`
/// `*_us` stamps are microseconds since the run started (monotonic clock); the last five are
/// the spans between them.
final class FrameLog: @unchecked Sendable {
    static let header = "seq,lane,media_time,synthetic,labeled,read_us,decoded_us,processed_us,encoded_us,written_us,decode_us,process_us,encode_us,mux_us,total_us"
    private let fd: Int32
    private let origin: UInt64
    let path: String

    init(path: String, origin: UInt64) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LabelcastError("--frame-log '\(path)' cannot be written: \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.origin = origin
        writeLine(Self.header)
    }
    deinit { close(fd) }

    /// Called on the mux queue only.
    func append(_ t: FrameTrace) {
        func rel(_ s: FrameTrace.Stamp) -> UInt64 { t[s] >= origin ? (t[s] - origin) / 1000 : 0 }
        var line = "\(t.sequence),\(t.lane.rawValue),\(String(format: "%.6f", t.mediaTime)),\(t.synthetic ? 1 : 0),\(t.labeled ? 1 : 0)"
        for s in FrameTrace.Stamp.allCases { line += ",\(rel(s))" }
        for span in LatencySpan.allCases { line += ",\(span.micros(t))" }
        writeLine(line)
    }

    private func writeLine(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }
}
