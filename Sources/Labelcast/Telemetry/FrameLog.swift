import Foundation
import Logging

/// `--frame-log`: one CSV row per frame written to the output, streamed to disk as the run goes
/// (one write(2) per row, no user-space buffer), so a killed run still leaves every row it wrote.
/// The file is truncated when the run starts, then only appended to (`O_APPEND`): a
/// copytruncate rotation leaves a valid file, and SIGHUP (`reopen()`) follows a move + create
/// rotation. Every file, the new one after a rotation included, starts with the header.
///
/// Columns (stable; documented in the README):
/// `seq,lane,media_time,synthetic,labeled,read_us,decoded_us,processed_us,encoded_us,written_us,decode_us,process_us,encode_us,mux_us,total_us,copied`
/// `*_us` stamps are microseconds since the run started (monotonic clock); the five after them
/// are the spans between them; `copied` is 1 for a frame that went out as the input's own
/// packet (`--copy-unlabeled`).
final class FrameLog: Sendable {
    static let header = headerBeforeCopied + ",copied"
    /// The header of frame logs written before the `copied` column (`labelcast report` reads both).
    static let headerBeforeCopied = "seq,lane,media_time,synthetic,labeled,read_us,decoded_us,processed_us,encoded_us,written_us,decode_us,process_us,encode_us,mux_us,total_us"
    let file: LogFile
    private let origin: UInt64
    var path: String { file.path }

    init(path: String, origin: UInt64, logger: Logger) throws {
        do { file = try LogFile(name: "frame", path: path, header: Self.header, truncate: true, logger: logger) } catch {
            throw LabelcastError("--frame-log '\(path)' cannot be written: \(error.message)")
        }
        self.origin = origin
        // The header now, so a run that writes no frame still leaves a valid CSV.
        file.writeHeaderIfEmpty()
    }

    /// Called on the mux queue only.
    func append(_ t: FrameTrace) {
        func rel(_ s: FrameTrace.Stamp) -> UInt64 { t[s] >= origin ? (t[s] - origin) / 1000 : 0 }
        var line = "\(t.sequence),\(t.lane.rawValue),\(String(format: "%.6f", t.mediaTime)),\(t.synthetic ? 1 : 0),\(t.labeled ? 1 : 0)"
        for s in FrameTrace.Stamp.allCases { line += ",\(rel(s))" }
        for span in LatencySpan.allCases { line += ",\(span.micros(t))" }
        line += t.copied ? ",1" : ",0"
        file.write(line: line)
    }

    func reopen() throws {
        do { try file.reopen() } catch { throw LabelcastError("--frame-log '\(path)' cannot be reopened: \(error.message)") }
    }
}
