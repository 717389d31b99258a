import CFFmpeg
import Foundation

/// A bounded window of a live input or pipe, copied as its bytes arrive to a private temporary
/// file, so that `labelcast inspect` reads a stream with the same passes as a file (container
/// layers, then watermarks) over ONE connection: a UDP or SRT listener input cannot be opened
/// twice, and an RTMP play is one subscriber. libavformat's protocols hand over the container's
/// bytes (MPEG-TS over UDP/SRT/TCP, FLV over RTMP), which is what the demuxer reads anyway.
///
/// The caller removes the file (`remove()`), also when inspecting it fails.
final class StreamSpool {
    let path: String
    /// The window ended before the stream did (time or size limit).
    private(set) var truncated = false
    private(set) var bytes: Int64 = 0

    private init(path: String) { self.path = path }

    func remove() { unlink(path) }

    private static func makeFile() throws -> (String, Int32) {
        let path = NSTemporaryDirectory() + "labelcast-inspect-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).spool"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw LabelcastError("cannot make a temporary file in \(NSTemporaryDirectory()) for the input's window: \(String(cString: strerror(errno)))") }
        return (path, fd)
    }

    private func append(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) throws {
        guard write(fd, p, n) == n else {
            throw LabelcastError("the temporary copy of the input cannot be written (\(String(cString: strerror(errno)))): free space in \(NSTemporaryDirectory())")
        }
        bytes += Int64(n)
    }

    /// Standard input: to its end, `maxBytes`, or `window` seconds.
    static func standardInput(maxBytes: Int64, window: Double?) throws -> StreamSpool {
        let (path, fd) = try makeFile()
        let spool = StreamSpool(path: path)
        defer { close(fd) }
        do {
            let deadline = window.map { Date().addingTimeInterval($0) }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                if let deadline {
                    let left = deadline.timeIntervalSinceNow
                    if left <= 0 { spool.truncated = true; break }
                    var p = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
                    if poll(&p, 1, Int32(min(left, 1) * 1000)) == 0 { continue }
                }
                let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                try buffer.withUnsafeBytes { try spool.append(fd, $0.baseAddress!, n) }
                if spool.bytes >= maxBytes { spool.truncated = true; break }
            }
            guard spool.bytes > 0 else { throw LabelcastError("standard input is empty: pipe a media file or stream into `labelcast inspect -`") }
        } catch {
            spool.remove()
            throw error
        }
        return spool
    }

    /// A network input (`rtmp://`, `srt://`, `udp://`, `http(s)://`…): `window` seconds of it
    /// (nil: to its end), at most `maxBytes`; `readTimeout` seconds without data is an error.
    /// `options`: libavformat protocol options (`URLGuard`'s pinning and no-redirect ones).
    static func network(url: String, display: String, window: Double?, maxBytes: Int64, readTimeout: Double,
                        options extra: [String: String] = [:]) throws -> StreamSpool {
        let (path, fd) = try makeFile()
        let spool = StreamSpool(path: path)
        defer { close(fd) }
        let clock = WindowClock(window: window)
        var cb = AVIOInterruptCB()
        cb.callback = { opaque in
            guard let opaque else { return 0 }
            return Unmanaged<WindowClock>.fromOpaque(opaque).takeUnretainedValue().expired ? 1 : 0
        }
        cb.opaque = Unmanaged.passUnretained(clock).toOpaque()
        var options: OpaquePointer?
        av_dict_set(&options, "rw_timeout", String(Int64(readTimeout * 1e6)), 0)
        for (k, v) in extra { av_dict_set(&options, k, v, 0) }
        // Not `timeout`: for rtmp:// it means "wait for a publisher" and turns the read into a listen.
        defer { av_dict_free(&options) }
        var io: UnsafeMutablePointer<AVIOContext>?
        do {
            let r = withExtendedLifetime(clock) { avio_open2(&io, url, AVIO_FLAG_READ, &cb, &options) }
            if r < 0 {
                if clock.expired { throw LabelcastError("input '\(display)' did not answer within the \(window.map { String(format: "%g", $0) } ?? "?") s window: check the address and that the source is sending") }
                throw LabelcastError("cannot open input '\(display)': \(Self.text(r)) (check the address and that the source is sending)")
            }
            defer { avio_closep(&io) }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { avio_read(io, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32($0.count)) }
                if n > 0 {
                    try buffer.withUnsafeBytes { try spool.append(fd, $0.baseAddress!, Int(n)) }
                    if spool.bytes >= maxBytes { spool.truncated = true; break }
                    continue
                }
                if n == lc_averror_eof() || n == 0 { break }
                if clock.expired { spool.truncated = true; break }
                if spool.bytes > 0, n == lc_averror_etimedout() || n == lc_averror_exit() { break }
                throw LabelcastError("input '\(display)': reading failed after \(spool.bytes) bytes: \(Self.text(n))")
            }
            guard spool.bytes > 0 else { throw LabelcastError("input '\(display)' sent no data: check that the source is sending") }
        } catch {
            spool.remove()
            throw error
        }
        return spool
    }

    static func text(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The end of the window, read by libavformat's interrupt callback on the reading thread.
    private final class WindowClock: @unchecked Sendable {
        let deadline: UInt64?
        init(window: Double?) {
            deadline = window.map { DispatchTime.now().uptimeNanoseconds + UInt64($0 * 1e9) }
        }
        var expired: Bool { deadline.map { DispatchTime.now().uptimeNanoseconds >= $0 } ?? false }
    }
}
