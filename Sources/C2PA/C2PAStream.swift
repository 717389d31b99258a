import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A byte stream the reference implementation reads, seeks and writes through callbacks
/// (`c2pa_create_stream`): an open file descriptor, or bytes in memory (the start-up probe,
/// which must leave nothing on disk). One thread at a time, like the file it wraps.
final class C2PAStream {
    private enum Backing {
        case file(Int32)
        case memory
    }

    private let library: C2PALibrary
    private let backing: Backing
    /// The bytes of a memory stream, and the position for both kinds' bookkeeping.
    private(set) var bytes: [UInt8] = []
    private var position = 0
    /// The library's handle; released in `deinit`.
    private(set) var handle: UnsafeMutableRawPointer!

    /// Opens `path` for reading (`writable == false`) or creates/truncates it for writing.
    init(library: C2PALibrary, path: String, writable: Bool) throws {
        self.library = library
        let fd = writable ? open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw C2PAError(.io, "'\(path)' cannot be opened\(writable ? " for writing" : ""): \(String(cString: strerror(errno)))")
        }
        backing = .file(fd)
        try attach()
    }

    /// A stream over `bytes` in memory (read and write).
    init(library: C2PALibrary, bytes: [UInt8]) throws {
        self.library = library
        self.bytes = bytes
        backing = .memory
        try attach()
    }

    private func attach() throws {
        let context = Unmanaged.passUnretained(self).toOpaque()
        handle = library.createStream(context, { ctx, data, len in
            C2PAStream.from(ctx).read(data, len)
        }, { ctx, offset, mode in
            C2PAStream.from(ctx).seek(offset, mode)
        }, { ctx, data, len in
            C2PAStream.from(ctx).write(data, len)
        }, { _ in 0 })
        guard handle != nil else {
            throw C2PAError(.library, library.lastError(or: "c2pa_create_stream failed"))
        }
    }

    deinit {
        if let handle { library.releaseStream(handle) }
        if case .file(let fd) = backing { close(fd) }
    }

    private static func from(_ ctx: UnsafeMutableRawPointer?) -> C2PAStream {
        Unmanaged<C2PAStream>.fromOpaque(ctx!).takeUnretainedValue()
    }

    private func read(_ data: UnsafeMutablePointer<UInt8>?, _ len: Int) -> Int {
        guard let data, len >= 0 else { return -1 }
        switch backing {
        case .file(let fd):
            var done = 0
            while done < len {
                let n = Glibc.read(fd, data + done, len - done)
                if n < 0 { if errno == EINTR { continue }; return -1 }
                if n == 0 { break }
                done += n
            }
            return done
        case .memory:
            let n = max(0, min(len, bytes.count - position))
            if n > 0 { bytes.withUnsafeBufferPointer { data.update(from: $0.baseAddress! + position, count: n) } }
            position += n
            return n
        }
    }

    private func write(_ data: UnsafePointer<UInt8>?, _ len: Int) -> Int {
        guard let data, len >= 0 else { return -1 }
        switch backing {
        case .file(let fd):
            var done = 0
            while done < len {
                let n = Glibc.write(fd, data + done, len - done)
                if n < 0 { if errno == EINTR { continue }; return -1 }
                done += n
            }
            return done
        case .memory:
            let end = position + len
            if end > bytes.count { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
            bytes.withUnsafeMutableBufferPointer { ($0.baseAddress! + position).update(from: data, count: len) }
            position = end
            return len
        }
    }

    /// `mode`: 0 from the start, 1 from the current position, 2 from the end (C2paSeekMode).
    private func seek(_ offset: Int, _ mode: Int32) -> Int {
        switch backing {
        case .file(let fd):
            let whence = mode == 0 ? SEEK_SET : mode == 1 ? SEEK_CUR : SEEK_END
            return Int(lseek(fd, off_t(offset), whence))
        case .memory:
            let base = mode == 0 ? 0 : mode == 1 ? position : bytes.count
            let target = base + offset
            guard target >= 0 else { return -1 }
            position = target
            return target
        }
    }
}
