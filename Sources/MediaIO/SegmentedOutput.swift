import CFFmpeg
import Foundation

/// Every file a segmenting muxer (`hls`, `dash`) writes, caught on its way to the disk.
///
/// FFmpeg's segmenters open each playlist, init segment and media segment through
/// `AVFormatContext.io_open` (and their nested mp4/mpegts muxers inherit the callbacks). This
/// installs its own: a file opened for writing goes to memory (a dynamic buffer) and, when the
/// muxer closes it, `transform` may rewrite the bytes (insert an `emsg`, a `udta`, a playlist
/// tag) before they are written to the path the muxer chose. The muxer's own temporary-name
/// and rename steps for playlists (`out.m3u8.tmp` → `out.m3u8`) still run on the real files,
/// so a playlist only ever names segments that are complete and already rewritten.
///
/// Runs on whatever thread drives the muxer (the mux queue): `transform` is called there, from
/// inside `av_interleaved_write_frame` / `av_write_trailer`.
public final class SegmentedOutput: @unchecked Sendable {
    /// What a written file is, told from its bytes (file names are the user's to choose).
    public enum FileKind: Sendable, Equatable {
        /// An HLS playlist (`#EXTM3U`).
        case playlist
        /// A DASH manifest (an XML `<MPD`).
        case manifest
        /// A fragmented-MP4 initialization segment (`ftyp` + `moov`, no `moof`).
        case initSegment
        /// A fragmented-MP4 media segment (has a `moof`).
        case mediaSegment
        /// Anything else (MPEG-TS segments, WebVTT…): written unchanged.
        case other
    }

    /// One file the muxer finished, before it reaches the disk.
    public struct File: Sendable {
        public let path: String
        public let kind: FileKind
        public var bytes: [UInt8]
    }

    /// Called with each finished file; may change its bytes. An error fails that write: the
    /// muxer's next write or the trailer then fails and the run discards the output.
    public var transform: ((inout File) throws -> Void)?

    /// The first error from `transform` or from writing a file, if any.
    public private(set) var failure: MediaError?

    private unowned let muxer: Muxer
    private var open: [UnsafeMutableRawPointer: String] = [:]
    /// Every path written, in order (for `removeAll`).
    public private(set) var written: [String] = []
    private let lock = NSLock()

    /// Installs the callbacks on `muxer` (before its header is written). The muxer keeps this
    /// object alive (`Muxer.segmented`).
    public init(muxer: Muxer) {
        self.muxer = muxer
        let ctx = muxer.context
        ctx.pointee.opaque = Unmanaged.passUnretained(self).toOpaque()
        ctx.pointee.io_open = { s, pb, url, flags, options in
            guard let s, let pb, let url, let opaque = s.pointee.opaque else { return lc_averror_einval() }
            let me = Unmanaged<SegmentedOutput>.fromOpaque(opaque).takeUnretainedValue()
            if (flags & AVIO_FLAG_WRITE) == 0 {
                // hlsenc reads an old playlist back (append_list): the real file.
                return avio_open2(pb, url, flags, &s.pointee.interrupt_callback, options)
            }
            let r = avio_open_dyn_buf(pb)
            guard r >= 0, let opened = pb.pointee else { return r }
            me.lock.withLock { me.open[UnsafeMutableRawPointer(opened)] = String(cString: url) }
            return 0
        }
        ctx.pointee.io_close2 = { s, pb in
            guard let s, let pb, let opaque = s.pointee.opaque else { return 0 }
            let me = Unmanaged<SegmentedOutput>.fromOpaque(opaque).takeUnretainedValue()
            guard let url = me.lock.withLock({ me.open.removeValue(forKey: UnsafeMutableRawPointer(pb)) }) else {
                return avio_close(pb)
            }
            var buffer: UnsafeMutablePointer<UInt8>? = nil
            let size = avio_close_dyn_buf(pb, &buffer)
            defer { av_free(buffer) }
            // Room for what a transform appends (a C2PA Merkle box, ~100 bytes), so appending
            // neither reallocates nor copies the segment (a debug build copies it byte by byte).
            var bytes: [UInt8] = []
            if size > 0, let buffer {
                bytes.reserveCapacity(Int(size) + SegmentedOutput.appendRoom)
                bytes.append(contentsOf: UnsafeBufferPointer(start: buffer, count: Int(size)))
            }
            return me.finished(url: url, bytes: consume bytes)
        }
    }

    /// Whether a file could still be open in memory (the muxer was not closed).
    public var hasOpenFiles: Bool { lock.withLock { !open.isEmpty } }

    /// Spare capacity given to each file's bytes for a transform's trailer.
    public static let appendRoom = 512

    private func finished(url: String, bytes: consuming [UInt8]) -> Int32 {
        let path = url.hasPrefix("file:") ? String(url.dropFirst(5)) : url
        let kind = Self.kind(of: bytes)
        var file = File(path: path, kind: kind, bytes: consume bytes)
        do {
            try transform?(&file)
            try Self.write(file.bytes, to: path)
            lock.withLock { if !written.contains(path) { written.append(path) } }
            return 0
        } catch {
            let e = (error as? MediaError) ?? MediaError(call: "segment", code: lc_averror_eio(), message: "\(error)", context: path)
            lock.withLock { if failure == nil { failure = e } }
            unlink(path)
            return e.code < 0 ? e.code : lc_averror_eio()
        }
    }

    /// Removes every file written so far, and the temporary playlists the muxer renames (a run
    /// that failed leaves nothing that looks like a stream).
    public func removeAll() {
        let paths = lock.withLock { written }
        for p in paths {
            unlink(p)
            if p.hasSuffix(".tmp") { unlink(String(p.dropLast(4))) }
        }
        lock.withLock { written.removeAll() }
    }

    /// Tells a file's kind from its first bytes (and, for MP4, its top-level boxes).
    public static func kind(of bytes: [UInt8]) -> FileKind {
        let head = String(decoding: bytes.prefix(64), as: UTF8.self)
        if head.hasPrefix("#EXTM3U") { return .playlist }
        if head.hasPrefix("<?xml") || head.hasPrefix("<MPD") {
            return String(decoding: bytes.prefix(1024), as: UTF8.self).contains("<MPD") ? .manifest : .other
        }
        let boxes = BMFFBox.topLevel(bytes)
        guard let first = boxes.first, ["ftyp", "styp", "moov", "moof", "emsg", "sidx"].contains(first.type) else { return .other }
        if boxes.contains(where: { $0.type == "moof" }) { return .mediaSegment }
        if boxes.contains(where: { $0.type == "moov" }) { return .initSegment }
        return .other
    }

    /// Writes `bytes` to `path` in one go (created or truncated).
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = Foundation.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw MediaError(call: "open", code: errno == ENOSPC ? lc_averror_enospc() : lc_averror_eio(), message: String(cString: strerror(errno)), context: path)
        }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw MediaError(call: "write", code: errno == ENOSPC ? lc_averror_enospc() : lc_averror_eio(), message: String(cString: strerror(errno)), context: path)
            }
            offset += n
        }
    }
}
